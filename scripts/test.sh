#!/usr/bin/env bash
# Installs what is missing, builds attncheck, and runs the whole test suite twice: a
# warnings-as-errors Release build, then an AddressSanitizer + UndefinedBehaviorSanitizer
# build that also compiles the out-of-tree example kernels (docs/examples/) into every binary,
# so the suite is proven to run against users' kernels: one with every feature, one with only
# causal, LSE and GQA, and a deliberately broken copy of the latter (explicit-only, so the
# default run leaves it out). In that build the suite must fail the broken kernel, pass the
# partial one filtered to it, and pass unfiltered (scripts/check_example_kernels.sh, then ctest).
# The Release run includes package.consumer_example: attncheck installed into a scratch prefix
# and docs/examples/consumer built and tested against it (1 to 2 min, overlapping the
# rest); the sanitizer build leaves it out.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

bash scripts/setup.sh

echo "== Release build (-Wall -Wextra -Werror)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DATTNCHECK_WERROR=ON
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"

echo "== ASan + UBSan build, with the example out-of-tree kernels"
examples="$PWD/docs/examples"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DATTNCHECK_SANITIZE=ON \
  -DATTNCHECK_BUILD_BENCH=OFF -DATTNCHECK_WERROR=ON \
  -DATTNCHECK_EXTRA_KERNELS="$examples/example_two_pass_kernel.cpp;$examples/example_online_softmax_kernel.cpp;$examples/example_online_softmax_broken_kernel.cpp"
cmake --build build-asan -j"$jobs"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
bash scripts/check_example_kernels.sh build-asan
echo "== The whole suite, unfiltered, in the sanitizer build"
ctest --test-dir build-asan --output-on-failure -j"$jobs"
