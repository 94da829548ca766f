#!/usr/bin/env bash
# Install everything a fresh machine needs: Python packages in .venv, the frontend build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[dev]"
if [ -f frontend/package.json ]; then
  (cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent)
fi
