#!/usr/bin/env bash
# Makes sure Debian's python3-aiosmtpd is installed, for the test that sends a campaign to a real
# SMTP server on loopback and kills the sending server mid-way (crates/kesher-cli/tests/it/smtp.rs).
# Prints the Python that has it. Fails loudly when it cannot be installed: that test is never
# skipped silently.
set -euo pipefail
say() { echo "smtp.sh: $*" >&2; }
fail() { say "$*"; exit 1; }
for py in /usr/bin/python3 python3; do
    if command -v "$py" >/dev/null && "$py" -c 'import aiosmtpd' 2>/dev/null; then
        say "aiosmtpd $("$py" -c 'import aiosmtpd; print(aiosmtpd.__version__)') with $(command -v "$py")"
        command -v "$py"
        exit 0
    fi
done
command -v apt-get >/dev/null || fail "aiosmtpd not found and apt-get is not available to install it"
[[ "$(id -u)" == 0 ]] || fail "aiosmtpd not found; installing it needs root (apt-get install python3-aiosmtpd)"
say "installing the Debian package python3-aiosmtpd"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q python3-aiosmtpd >&2; then
    say "install failed; running apt-get update and trying again"
    apt-get update -q >&2 || fail "apt-get update failed"
    apt-get install -y -q python3-aiosmtpd >&2 || fail "apt-get install python3-aiosmtpd failed"
fi
/usr/bin/python3 -c 'import aiosmtpd' || fail "python3-aiosmtpd is installed but /usr/bin/python3 cannot import it"
echo /usr/bin/python3
