#!/usr/bin/env bash
# Installs what is missing, builds attncheck, and runs the whole test suite twice: a
# warnings-as-errors Release build, then an AddressSanitizer + UndefinedBehaviorSanitizer
# build that also compiles the out-of-tree example kernel (docs/examples/) into every binary,
# so the suite is proven to run against a user's kernel.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

bash scripts/setup.sh

echo "== Release build (-Wall -Wextra -Werror)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DATTNCHECK_WERROR=ON
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"

echo "== ASan + UBSan build, with the example out-of-tree kernel"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DATTNCHECK_SANITIZE=ON \
  -DATTNCHECK_BUILD_BENCH=OFF -DATTNCHECK_WERROR=ON \
  -DATTNCHECK_EXTRA_KERNELS="$PWD/docs/examples/example_two_pass_kernel.cpp"
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs"
