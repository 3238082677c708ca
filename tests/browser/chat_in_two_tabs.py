"""The Channels tutorial's own browser test (part 4), against a deployment served by NGINX Unit.

Headless Chromium opens a chat room in two tabs, types a message in the first, and waits for it
to appear in the second; it saves a screenshot of the second tab. Run by the default molecule
scenario's verify against the port the container publishes on 127.0.0.1.

    chat_in_two_tabs.py --url http://127.0.0.1:18012 --screenshot chat.png

Over https (the tls scenario), with --ca: the certificate the URL serves is first verified here
against that CA and the URL's name, then Chromium is told to trust that certificate's key
(--ignore-certificate-errors-spki-list), so the page and its WebSockets (wss://) run as in a browser
that trusts the CA. --map-host NAME=IP makes Chromium reach a container's name from the controller.

    chat_in_two_tabs.py --url https://tls-app:18443 --ca root.pem --map-host tls-app=127.0.0.1 --screenshot chat.png
"""

import argparse
import base64
import hashlib
import secrets
import socket
import ssl
import sys
import tempfile
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait


def verified_spki(url, ca, hosts):
    """base64 SHA-256 of the public key of the certificate url serves, once it verified against ca."""
    parts = urllib.parse.urlsplit(url)
    context = ssl.create_default_context(cafile=ca)
    address = (hosts.get(parts.hostname, parts.hostname), parts.port or 443)
    with socket.create_connection(address, timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=parts.hostname) as sock:
            der = sock.getpeercert(binary_form=True)
    spki = x509.load_der_x509_certificate(der).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def browser(profile_dir, extra_flags=()):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    # No sandbox as root; no background traffic: this machine reaches nothing but 127.0.0.1.
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1000,700", f"--user-data-dir={profile_dir}", *extra_flags):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def wait_connected(driver, wait):
    """The room page marks #chat-status connected once its WebSocket is open."""
    wait.until(lambda d: d.find_element(By.ID, "chat-status").get_attribute("data-state") == "connected")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="base URL, e.g. http://127.0.0.1:18012")
    parser.add_argument("--screenshot", required=True)
    parser.add_argument("--ca", help="https: the CA the served certificate must verify against")
    parser.add_argument("--map-host", action="append", default=[], metavar="NAME=IP",
                        help="Chromium resolves NAME to IP")
    args = parser.parse_args()
    hosts = dict(item.split("=", 1) for item in args.map_host)
    flags = [f"--host-resolver-rules=MAP {name} {ip}" for name, ip in hosts.items()]
    if args.url.startswith("https://"):
        if not args.ca:
            parser.error("an https URL needs --ca")
        flags.append("--ignore-certificate-errors-spki-list=" + verified_spki(args.url, args.ca, hosts))

    room = "browser_" + secrets.token_hex(4)
    message = "hello from tab one " + secrets.token_hex(3)
    with tempfile.TemporaryDirectory() as profile:
        driver = browser(profile, flags)
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
            protocol = driver.execute_script("return location.protocol")

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
    print(f'{{"room": "{room}", "protocol": "{protocol}", "message_seen_in_other_tab": true, '
          f'"stylesheet_from_static": {str(styled).lower()}, '
          f'"screenshot": "{args.screenshot}"}}')
    if not styled:
        print("the stylesheet did not load from /static/", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
