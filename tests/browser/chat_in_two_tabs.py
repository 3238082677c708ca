"""The Channels tutorial's own browser test (part 4), against a deployment served by NGINX Unit.

Headless Chromium opens a chat room in two tabs, types a message in the first, and waits for it
to appear in the second; it saves a screenshot of the second tab. Run by the default molecule
scenario's verify against the port the container publishes on 127.0.0.1.

    chat_in_two_tabs.py --url http://127.0.0.1:18012 --screenshot chat.png
"""

import argparse
import secrets
import sys
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait


def browser(profile_dir):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    # No sandbox as root; no background traffic: this machine reaches nothing but 127.0.0.1.
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1000,700", f"--user-data-dir={profile_dir}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def wait_connected(driver, wait):
    """The room page marks #chat-status connected once its WebSocket is open."""
    wait.until(lambda d: d.find_element(By.ID, "chat-status").get_attribute("data-state") == "connected")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="base URL, e.g. http://127.0.0.1:18012")
    parser.add_argument("--screenshot", required=True)
    args = parser.parse_args()

    room = "browser_" + secrets.token_hex(4)
    message = "hello from tab one " + secrets.token_hex(3)
    with tempfile.TemporaryDirectory() as profile:
        driver = browser(profile)
        try:
            wait = WebDriverWait(driver, 20)
            # Tab one: the index page, enter the room as a user would.
            driver.get(args.url + "/chat/")
            driver.find_element(By.ID, "room-name-input").send_keys(room)
            driver.find_element(By.ID, "room-name-submit").click()
            wait.until(ec.url_contains(f"/chat/{room}/"))
            wait_connected(driver, wait)
            # The stylesheet came through Unit's static route and applied.
            styled = driver.execute_script(
                "return [...document.styleSheets].some(s => (s.href || '').includes('/static/'))")
            tab_one = driver.current_window_handle

            driver.switch_to.new_window("tab")
            driver.get(f"{args.url}/chat/{room}/")
            wait_connected(driver, wait)
            tab_two = driver.current_window_handle

            driver.switch_to.window(tab_one)
            driver.find_element(By.ID, "chat-message-input").send_keys(message)
            driver.find_element(By.ID, "chat-message-submit").click()

            driver.switch_to.window(tab_two)
            wait.until(lambda d: message in d.find_element(By.ID, "chat-log").get_attribute("value"))
            driver.find_element(By.ID, "chat-message-input").send_keys("and hello back from tab two")
            driver.find_element(By.ID, "chat-message-submit").click()
            wait.until(lambda d: "hello back" in d.find_element(By.ID, "chat-log").get_attribute("value"))
            driver.save_screenshot(args.screenshot)
        finally:
            driver.quit()
    print(f'{{"room": "{room}", "message_seen_in_other_tab": true, "stylesheet_from_static": {str(styled).lower()}, '
          f'"screenshot": "{args.screenshot}"}}')
    if not styled:
        print("the stylesheet did not load from /static/", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
