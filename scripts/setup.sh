#!/usr/bin/env bash
# Set up the development environment: a virtualenv in .venv with the venue and its test tools, and
# the npm packages (Solidity compiler, ERC-3643 suite, anvil). Safe to run again: it only redoes
# what changed. The first run on a machine compiles quickfix from source with TLS (5-20 minutes on
# 2 cores; scripts/build-quickfix.sh keeps the wheel, later runs take seconds).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PYTHON" -m venv .venv
  .venv/bin/pip install --quiet --upgrade pip wheel setuptools
fi

# quickfix with TLS (HAVE_SSL, OpenSSL): built once per machine, before pip could take a plain wheel.
scripts/build-quickfix.sh .venv/bin/python

stamp=.venv/.venue-setup
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing Python packages"
  .venv/bin/pip install --quiet -e ".[test]"
  touch "$stamp"
fi

if [ -f package.json ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "setup: installing npm packages"
    npm ci --no-audit --no-fund --loglevel=error
  fi
fi
echo "setup: ready"
