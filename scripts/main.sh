#!/usr/bin/env bash
# Installs what is missing, builds attncheck, and runs its main job on built-in defaults:
# the oracle's step-by-step trace of the built-in worked example, checked against every
# registered kernel.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)" --target attncheck
./build/cli/attncheck trace "$@"
