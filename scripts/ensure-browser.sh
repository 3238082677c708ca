#!/usr/bin/env bash
# Headless Chromium and its WebDriver (Debian packages) for the browser check of the chat.
set -euo pipefail
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  exit 0
fi
echo "==> Installing Chromium and ChromeDriver (Debian packages chromium, chromium-driver; about a minute)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium chromium-driver >/dev/null \
  || { echo "ensure-browser: could not install chromium and chromium-driver with apt-get" >&2; exit 1; }
