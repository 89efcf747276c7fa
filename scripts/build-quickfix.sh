#!/usr/bin/env bash
# Build and install the quickfix binding with TLS: the PyPI sdist compiled with HAVE_SSL against the
# system's OpenSSL, with four small patches (scripts/quickfix/*.patch):
#   setup-link-openssl.patch           links the extension with libssl and libcrypto
#   python-threaded-ssl-acceptor.patch quickfix.SSLSocketAcceptor is QuickFIX's *threaded* TLS acceptor
#                                      (a thread per connection: a slow TLS handshake holds up no one else)
#   ssl-peer-identity.patch            writes the TLS peer's certificate (SHA-256 fingerprint, subject CN)
#                                      into the session's event log before the Logon, where the venue
#                                      reads who is logging on
#   filestore-sparse-index.patch       FileStore keeps one index mark per 256 stored messages instead
#                                      of a std::map entry (~64 bytes) per message, so the FIX
#                                      process's memory does not grow with every message of the day;
#                                      a resend scans at most 256 header records from a mark
# The wheel is kept in a cache keyed by version, flags and patches, so the 5-20 minute compile
# happens once per machine; `scripts/setup.sh` calls this.
#
#   scripts/build-quickfix.sh PYTHON        install into that interpreter's environment
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${1:?usage: scripts/build-quickfix.sh PYTHON}"
VERSION=1.16.0
FLAGS="${QUICKFIX_CXXFLAGS:--O1 -g0 -DNDEBUG} -DHAVE_SSL"

if [ ! -f /usr/include/openssl/ssl.h ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "setup: installing OpenSSL headers (libssl-dev)"
    apt-get install -y -q libssl-dev >/dev/null
  else
    echo "setup: OpenSSL headers missing: install libssl-dev (Debian) or openssl-devel, then run again" >&2
    exit 1
  fi
fi

key=$( (echo "$VERSION $FLAGS $("$PY" -c 'import sys; print(sys.version)')"; cat scripts/quickfix/*.patch) | sha256sum | cut -c1-16)
stamp="$("$PY" -c 'import sys; print(sys.prefix)')/.quickfix-build"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ]; then
  exit 0
fi

cache="${VENUE_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/venue-wheels}/quickfix-$key"
wheel=$(ls "$cache"/quickfix-*.whl 2>/dev/null | head -1 || true)
if [ -z "$wheel" ]; then
  echo "setup: compiling quickfix $VERSION with TLS (5-20 minutes on 2 cores, once per machine)"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  "$PY" -m pip download --quiet --no-deps --no-binary :all: "quickfix==$VERSION" -d "$work"
  tar -xzf "$work/quickfix-$VERSION.tar.gz" -C "$work"
  for p in scripts/quickfix/*.patch; do
    patch --quiet -p1 -d "$work/quickfix-$VERSION" < "$p"
  done
  mkdir -p "$cache"
  CFLAGS="$FLAGS" CXXFLAGS="$FLAGS" \
    "$PY" -m pip wheel --quiet --no-deps --no-cache-dir -w "$cache" "$work/quickfix-$VERSION"
  wheel=$(ls "$cache"/quickfix-*.whl | head -1)
fi
"$PY" -m pip install --quiet --no-deps --force-reinstall "$wheel"
if ! "$PY" -c 'import quickfix; quickfix.SSLSocketAcceptor' 2>/dev/null; then
  echo "setup: the quickfix build does not load with TLS; removing $wheel, run setup again" >&2
  rm -f "$wheel"
  exit 1
fi
echo "$key" > "$stamp"
