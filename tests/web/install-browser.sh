#!/usr/bin/env bash
# Installs the browser the web app's real-browser tests drive (tests/web/browser/): Debian's
# chromium. Run by `npm test` (the pretest script); quick and silent when it is already there.
# Set CHROMIUM_PATH to use another Chromium build instead.
set -euo pipefail
browser="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$browser" ]; then exit 0; fi
if [ -n "${CHROMIUM_PATH:-}" ]; then
  echo "CHROMIUM_PATH=$browser is not an executable" >&2; exit 1
fi
if ! command -v apt-get >/dev/null; then
  echo "chromium not found at $browser and apt-get is not available: install Chromium and set CHROMIUM_PATH" >&2; exit 1
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
    echo "chromium is missing; install it as root: apt-get update && apt-get install -y chromium" >&2; exit 1
  fi
fi
echo "installing chromium for the web app's browser tests (apt-get)..." >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
[ -x "$browser" ] || { echo "apt-get installed chromium, but $browser is missing" >&2; exit 1; }
