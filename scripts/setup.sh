#!/usr/bin/env bash
# Installs the Debian packages attncheck needs, and only those that are missing.
# Idempotent: when everything is installed it changes nothing and needs no network.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libgtest-dev librapidcheck-dev libboost-dev libmpfr-dev libgmp-dev
  libbenchmark-dev libhwy-dev nlohmann-json3-dev libcli11-dev libopenblas-dev
  python3-numpy python3-mpmath
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo=sudo; else
    echo "setup: error: missing packages (${missing[*]}) and not root, no sudo" >&2
    exit 1
  fi
else
  sudo=
fi
if ! $sudo apt-get update -qq; then
  echo "setup: error: apt-get update failed; cannot install ${missing[*]}" >&2
  exit 1
fi
if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
  echo "setup: error: apt-get install failed for: ${missing[*]}" >&2
  exit 1
fi
echo "setup: done"
