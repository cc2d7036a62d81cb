#!/usr/bin/env bash
# Refresh the screenshots in docs/screenshots/ and docs/console/ from a real headless Chromium through a real
# `guarita run` (the browser tests, with GUARITA_SCREENSHOTS set). Needs what the tests need.
set -euo pipefail
cd "$(dirname "$0")/.."
GUARITA_SCREENSHOTS="$PWD/docs/screenshots" .venv/bin/python -m pytest -q \
  tests/test_browser_e2e.py tests/test_console_browser.py
ls -l docs/screenshots docs/console
