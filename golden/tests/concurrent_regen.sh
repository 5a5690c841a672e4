#!/bin/sh
# Two `attncheck golden regen` runs into one directory at the same time, five times over: both
# must succeed (the second waits for the first's lock on traces/.regen.lock), the traces must
# be the source tree's, and nothing else may be left in traces/ (no .tmp, .bak or lock file).
# Without the lock both runs wrote the same ".NAME.json.tmp" files and one of them failed with
# "FAILED, no file changed". Usage: concurrent_regen.sh ATTNCHECK GOLDEN_SOURCE_DIR SCRATCH_DIR
set -u
attncheck=$1 source=$2 scratch=$3
for round in 1 2 3 4 5; do
  rm -rf "$scratch" && mkdir -p "$scratch/out" || exit 1
  "$attncheck" golden regen --dir "$scratch/golden" >"$scratch/out/a" 2>&1 &
  a=$!
  "$attncheck" golden regen --dir "$scratch/golden" >"$scratch/out/b" 2>&1 &
  b=$!
  wait $a; status_a=$?
  wait $b; status_b=$?
  if [ $status_a -ne 0 ] || [ $status_b -ne 0 ]; then
    echo "round $round: exit $status_a and $status_b"; cat "$scratch/out/a" "$scratch/out/b"; exit 1
  fi
  left=$(ls -A "$scratch/golden/traces" | grep -v '^[^.].*\.json$')
  if [ -n "$left" ]; then echo "round $round: left behind in traces/: $left"; exit 1; fi
  for file in "$source"/traces/*.json; do
    if ! cmp -s "$file" "$scratch/golden/traces/$(basename "$file")"; then
      echo "round $round: $(basename "$file") differs from the source tree's"; exit 1
    fi
  done
  grep -h "waiting for another golden regen" "$scratch/out/a" "$scratch/out/b"
done
rm -rf "$scratch"
echo "OK: every pair of concurrent regens succeeded"
