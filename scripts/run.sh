#!/usr/bin/env bash
# Install guarita into .venv (once) and run the proxy on the embedded default (no LDAP,
# SQLite in ./var). The package index is asked only when pyproject.toml changed since the
# last install, so a server without internet restarts as well as it started.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=.venv/.guarita-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -x .venv/bin/guarita ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  [ -x .venv/bin/python ] || python3.11 -m venv .venv 2>/dev/null || python3 -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e .
  echo "$want" > "$stamp"
fi
exec .venv/bin/guarita run "$@"
