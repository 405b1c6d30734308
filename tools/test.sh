#!/bin/sh
# Installs dependencies, builds, and runs the whole test suite twice: a
# normal optimised build (build/) and an AddressSanitizer +
# UndefinedBehaviorSanitizer build (build-san/).  A third build
# (build-sodium/, -Dsha256=libsodium) runs the digest test only, so both
# SHA-256 providers are checked.  Exits non-zero when any test fails.
# Extra arguments go to `meson test` of the first two builds (e.g. a test
# name).
set -u
cd "$(dirname "$0")/.."

tools/deps.sh || exit 1

[ -f build/build.ninja ] || meson setup build >/dev/null || exit 1
[ -f build-san/build.ninja ] || meson setup build-san --buildtype=debug \
  -Db_sanitize=address,undefined -Db_lundef=false >/dev/null || exit 1
[ -f build-sodium/build.ninja ] || meson setup build-sodium \
  -Dsha256=libsodium >/dev/null || exit 1

ninja -C build || exit 1
ninja -C build-san || exit 1
ninja -C build-sodium || exit 1

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

rc=0
meson test -C build --print-errorlogs "$@" || rc=1
meson test -C build-san --print-errorlogs --timeout-multiplier 3 "$@" || rc=1
meson test -C build-sodium --print-errorlogs --suite test_digest || rc=1
exit $rc
