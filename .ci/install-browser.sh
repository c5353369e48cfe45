#!/usr/bin/env bash
# CI: Debian's Chromium for tests/test_graphiql_browser.py (driven by Python Playwright, which uses
# /usr/bin/chromium; `playwright install` is not needed and does not work offline). Runs as root.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    echo "chromium present: $(/usr/bin/chromium --version 2>/dev/null || echo unknown version)"
    exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq chromium
echo "installed: $(/usr/bin/chromium --version)"
