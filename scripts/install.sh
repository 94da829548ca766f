#!/usr/bin/env bash
# Install everything a fresh machine needs: Python packages in .venv, the frontend build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
# torch first, pinned: the CPU wheel (a bare torch, asked for by another package, is a multi-GB CUDA build).
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[dev]"
if [ -f frontend/package.json ]; then
  (cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent)
fi
# The UI's translations (locale/*/LC_MESSAGES/django.po) are compiled by GNU gettext's msgfmt.
if ! command -v msgfmt >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -qq gettext >/dev/null || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq gettext >/dev/null; }
fi
.venv/bin/python manage.py compilemessages --locale ja --ignore ".venv" --ignore "frontend/node_modules" --verbosity 0
