#!/bin/sh
# Installs dependencies, builds, and runs the whole test suite twice: a
# normal optimised build (build/) and an AddressSanitizer +
# UndefinedBehaviorSanitizer build (build-san/).  A third build
# (build-sodium/, -Dsha256=libsodium) runs the digest test only, so both
# SHA-256 providers are checked.  Two more builds only compile, with
# -Werror like every build: --buildtype=release (build-release/, gcc -O3,
# where gcc finds more maybe-uninitialized paths) and clang
# (build-clang/); they compile at low priority while the tests run.
# Exits non-zero when any test fails or any build does not compile.
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
[ -f build-release/build.ninja ] || meson setup build-release \
  --buildtype=release >/dev/null || exit 1
[ -f build-clang/build.ninja ] || CC=clang meson setup build-clang \
  >/dev/null || exit 1

ninja -C build || exit 1
ninja -C build-san || exit 1
ninja -C build-sodium || exit 1

# Compile-only builds, in the background; their output is shown only when
# they fail.  nice execs ninja, so $! is ninja, which stops its compilers
# when an interrupted run sends it SIGTERM.
for b in build-release build-clang; do
  nice -n 10 ninja -C "$b" >"$b/compile.log" 2>&1 &
  echo $! >"$b/compile.pid"
done
trap 'kill $(cat build-release/compile.pid build-clang/compile.pid) \
  2>/dev/null; exit 1' INT TERM HUP

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

rc=0
meson test -C build --print-errorlogs "$@" || rc=1
meson test -C build-san --print-errorlogs --timeout-multiplier 3 "$@" || rc=1
meson test -C build-sodium --print-errorlogs --suite test_digest || rc=1

for b in build-release build-clang; do
  if wait "$(cat "$b/compile.pid")"; then
    echo "$b: compiled"
  else
    cat "$b/compile.log"
    echo "$b: does not compile" >&2
    rc=1
  fi
done
exit $rc
