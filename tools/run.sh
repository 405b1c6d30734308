#!/bin/sh
# Installs dependencies, builds, and runs the daemon on the embedded
# default: SQLite and ./var, listening on 127.0.0.1:8080.  Extra arguments
# go to artifactstored (e.g. --listen 0.0.0.0:9000 --data /srv/as).
set -eu
cd "$(dirname "$0")/.."

tools/deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build artifactstored >/dev/null
exec ./build/artifactstored "$@"
