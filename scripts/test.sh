#!/usr/bin/env bash
# Quick start 2: install what is missing, build the test configuration (clang, ASan + UBSan,
# libFuzzer targets) and run the whole suite with ctest; then build the broker with
# ThreadSanitizer and run its unit tests and the 60 s concurrency soak under it.
# Exits non-zero on any failure. Arguments go to the first ctest run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build/test"
tsan="$root/build/tsan"
"$root/scripts/install-deps.sh"
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE=Debug -DSLUICE_SANITIZE=ON -DSLUICE_FUZZ=ON
cmake --build "$build" -j"$(nproc)"
(cd "$build" && ctest --output-on-failure -j"$(nproc)" --timeout 300 "$@")

echo "== ThreadSanitizer: broker unit tests and the concurrency soak"
CC=clang CXX=clang++ cmake -S "$root" -B "$tsan" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_TSAN=ON
cmake --build "$tsan" -j"$(nproc)" --target sluice broker_tests
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" "$tsan/tests/broker_tests"
SLUICE_BIN="$tsan/bin/sluice" TSAN_OPTIONS="second_deadlock_stack=1" \
  /usr/bin/python3 "$root/tests/system/soak.py" 60 2
