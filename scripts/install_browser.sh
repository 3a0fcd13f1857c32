#!/usr/bin/env bash
# Headless Chromium for the report's browser tests (Debian's package; Playwright drives it
# through executable_path, so no browser is downloaded by Playwright).
set -u
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium) >/dev/null 2>&1 \
    || echo "warning: could not install chromium; browser tests will be skipped" >&2
else
  echo "note: install Debian's chromium to run the browser tests" >&2
fi
exit 0
