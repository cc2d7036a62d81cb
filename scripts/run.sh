#!/usr/bin/env bash
# Install guarita into .venv (once) and run the proxy on the embedded default (no LDAP,
# SQLite in ./var). The package index is asked only when pyproject.toml changed since the
# last install, so a server without internet restarts as well as it started.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=.venv/.guarita-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -x .venv/bin/guarita ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "guarita: installing into .venv (pyproject.toml changed or first run) ..."
  [ -x .venv/bin/python ] || python3.11 -m venv .venv 2>/dev/null || python3 -m venv .venv
  log=$(mktemp)
  if ! { .venv/bin/python -m pip install -q --upgrade pip \
         && .venv/bin/python -m pip install -q -e .; } >"$log" 2>&1; then
    cat "$log" >&2; rm -f "$log"
    echo "guarita: installation failed (pip's output above)" >&2; exit 1
  fi
  rm -f "$log"
  echo "$want" > "$stamp"
  echo "guarita: installed"
fi
exec .venv/bin/guarita run "$@"
