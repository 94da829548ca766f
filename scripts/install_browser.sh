#!/usr/bin/env bash
# Install what the browser tests need: Debian's Chromium (driven by Playwright through
# executable_path; Playwright's own browser download is never used) and CJK fonts, so that Japanese
# task text renders in tests and screenshots. Safe to run again: it does nothing once both are there.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
if ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then need+=(fonts-noto-cjk); fi
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${need[@]}" >/dev/null
