#!/usr/bin/env bash
# Runs the suite as a user would against the out-of-tree example kernels compiled into BUILD_DIR
# (scripts/test.sh builds them into its sanitizer build), and fails unless:
#   1. filtered to the deliberately broken copy (example_online_softmax_broken_f32), the suite
#      FAILS it: the property laws, the kernel tests and the golden checks each report failures,
#      every failure is one of the tests that run that kernel, and none is a crash, a timeout
#      or a test that did not run;
#   2. filtered to the partial-feature kernel (example_online_softmax_f32: causal, LSE, GQA
#      only), the suite passes, and the laws really ran on it (not all skipped).
# The broken run comes first and its log is kept out of the output, so the last ctest summary
# a reader sees is a passing one.
set -euo pipefail
build=${1:?usage: check_example_kernels.sh BUILD_DIR}
jobs=$(nproc)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "== The suite must fail the deliberately broken example kernel"
if ATTNCHECK_KERNELS=example_online_softmax_broken_f32 ctest --test-dir "$build" -j"$jobs" >"$log" 2>&1; then
  echo "check_example_kernels: the suite PASSED example_online_softmax_broken_f32, a kernel that is wrong" >&2
  exit 1
fi
failed=$(grep -cE '\*\*\*Failed' "$log" || true)
crashed=$(grep -E '\*\*\*(Exception|Timeout|Not Run)|Not Run|\(Timeout\)' "$log" || true)
echo "   $failed tests failed it; e.g.:"
grep -E '\*\*\*Failed' "$log" | sed -E 's/^ *[0-9]+\/[0-9]+ Test +#[0-9]+: //; s/ \.+.*//' | head -8 | sed 's/^/     /'
if [ -n "$crashed" ]; then
  echo "check_example_kernels: failures other than a failed check (crash, timeout, not run):" >&2
  echo "$crashed" >&2
  exit 1
fi
# Every failure must be the broken kernel's: a test that fails for another reason (a test
# program that cannot run under the filter, say) would make this check pass for the wrong one.
unrelated=$(grep -E '\*\*\*Failed' "$log" |
  grep -vE 'example_online_softmax_broken_f32|OptimizedKernels\.|golden\.kernels_within_bounds_on_every_trace' || true)
if [ -n "$unrelated" ]; then
  echo "check_example_kernels: tests that do not check the broken kernel failed too:" >&2
  echo "$unrelated" >&2
  exit 1
fi
for family in 'RowStochasticity\.' 'Accuracy\.' 'Equivalence\.' 'OptimizedKernels\.' 'golden\.kernels_within_bounds_on_every_trace'; do
  if ! grep -E '\*\*\*Failed' "$log" | grep -qE "$family"; then
    echo "check_example_kernels: no failure from $family: that part of the suite did not catch the broken kernel" >&2
    exit 1
  fi
done

echo "== The suite must pass the partial-feature example kernel, filtered to it"
ATTNCHECK_KERNELS=example_online_softmax_f32 ctest --test-dir "$build" -j"$jobs" >"$log" 2>&1 || {
  cat "$log"
  echo "check_example_kernels: the suite failed example_online_softmax_f32, a correct kernel" >&2
  exit 1
}
ran=$(grep -E 'Test +#[0-9]+: [A-Za-z]+\.[A-Za-z]+/example_online_softmax_f32 \.+ +Passed' "$log" | wc -l)
echo "   $ran property laws ran on it and held; $(tail -n +1 "$log" | grep -E 'tests passed' )"
if [ "$ran" -lt 10 ]; then
  echo "check_example_kernels: only $ran laws ran on example_online_softmax_f32; the rest were skipped" >&2
  exit 1
fi
