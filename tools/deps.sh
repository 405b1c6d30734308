#!/bin/sh
# Installs the Debian packages artifactstored builds, runs and tests with.
# Idempotent: apt-get runs only when something is missing.
set -eu

PKGS="build-essential clang meson ninja-build pkg-config
libuv1-dev libsqlite3-dev libsodium-dev libssl-dev libcbor-dev libjansson-dev
node-llhttp librust-blake3-dev
curl b3sum coreutils openssl python3 python3-cbor2 python3-pytest sqlite3 wrk"

missing=""
for p in $PKGS; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing="$missing $p"
  fi
done

if [ -n "$missing" ]; then
  echo "deps: installing:$missing" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
