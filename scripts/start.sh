#!/usr/bin/env bash
# Quick start 1: install what is missing, build Release, run sluice in the foreground on its
# embedded defaults. Extra arguments go to sluice (try --help).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSLUICE_TESTS=OFF
cmake --build "$root/build" -j"$(nproc)" --target sluice
exec "$root/build/bin/sluice" "$@"
