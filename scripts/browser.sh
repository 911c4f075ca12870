#!/usr/bin/env bash
# Makes sure Debian's chromium and chromium-driver are installed, for the browser tests
# (kesher-http's `browser-tests` feature drives headless Chromium over WebDriver).
# Fails loudly when they cannot be installed: browser tests are never skipped silently.
set -euo pipefail
say() { echo "browser.sh: $*" >&2; }
fail() { say "$*"; exit 1; }
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    say "$(chromium --version 2>/dev/null | head -1), $(chromedriver --version 2>/dev/null | head -1 | cut -d' ' -f1-2)"
    exit 0
fi
command -v apt-get >/dev/null || fail "chromium not found and apt-get is not available to install it"
[[ "$(id -u)" == 0 ]] || fail "chromium not found; installing it needs root (apt-get install chromium chromium-driver)"
say "installing the Debian packages chromium and chromium-driver"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q chromium chromium-driver >&2; then
    say "install failed; running apt-get update and trying again"
    apt-get update -q >&2 || fail "apt-get update failed"
    apt-get install -y -q chromium chromium-driver >&2 || fail "apt-get install chromium chromium-driver failed"
fi
command -v chromedriver >/dev/null || fail "chromium-driver is installed but chromedriver was not found"
