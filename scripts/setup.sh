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

# Chromium and its WebDriver from Debian's packages, for the ops console's browser tests (tests/browser).
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing chromium and chromium-driver (apt)"
    sudo_=""
    [ "$(id -u)" -eq 0 ] || sudo_="sudo"
    $sudo_ apt-get install -y -qq chromium chromium-driver >/dev/null \
      || { $sudo_ apt-get update -qq && $sudo_ apt-get install -y -qq chromium chromium-driver >/dev/null; }
  else
    echo "setup: no apt-get: install Chromium and chromedriver for tests/browser yourself" >&2
  fi
fi

if [ -f package.json ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "setup: installing npm packages"
    npm ci --no-audit --no-fund --loglevel=error
  fi
fi
echo "setup: ready"
