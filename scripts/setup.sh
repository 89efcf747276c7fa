#!/usr/bin/env bash
# Set up the development environment: a virtualenv in .venv with the venue and its test tools, and
# the npm packages (Solidity compiler, ERC-3643 suite, anvil). Safe to run again: it only redoes
# what changed. The first run compiles quickfix from source (10-20 minutes on 2 cores; pip caches
# the wheel, later runs take seconds).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PYTHON" -m venv .venv
  .venv/bin/pip install --quiet --upgrade pip wheel setuptools
fi

stamp=.venv/.venue-setup
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing Python packages (the first quickfix build compiles C++ for 10-20 minutes)"
  # -O1 without debug info builds quickfix about twice as fast and runs as fast.
  CFLAGS="${CFLAGS:--O1 -g0 -DNDEBUG}" CXXFLAGS="${CXXFLAGS:--O1 -g0 -DNDEBUG}" \
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
