#!/usr/bin/env bash
# Installs, only when missing, every Debian package segdistill needs to build and run.
#   tools/setup-deps.sh                 build and run dependencies
#   tools/setup-deps.sh --with-test-tools   plus the writers of the tests' real-format fixtures
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: tools/setup-deps.sh [--with-test-tools] [--with-fuzz-tools] [--dry-run] [--help]

Installs the Debian packages segdistill needs, only those that are missing.
  --with-test-tools  also install python3-torch, python3-torchvision, python3-pil, python3-scipy,
                     python3-numpy, python3-h5py and python3-protobuf, which the tests
                     use (through /usr/bin/python3) to write PyTorch checkpoints, palette
                     PNGs and .mat files (v5 with scipy, v7.3/HDF5 with h5py) and to read
                     TensorBoard event files back
  --with-fuzz-tools  also install clang and its libFuzzer / sanitizer runtimes
                     (tools/fuzz.sh)
  --dry-run          list what is missing and exit (status 0 if nothing is)
USAGE
}

with_test_tools=0
with_fuzz_tools=0
dry_run=0
for arg in "$@"; do
  case "$arg" in
    --with-test-tools) with_test_tools=1 ;;
    --with-fuzz-tools) with_fuzz_tools=1 ;;
    --dry-run) dry_run=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "setup-deps.sh: unknown option '$arg' (valid: --with-test-tools, --with-fuzz-tools, --dry-run, --help)" >&2; exit 2 ;;
  esac
done

# libopenblas0-pthread: without an optimised BLAS LibTorch falls back to the reference
# BLAS and some convolutions run an order of magnitude slower. dpkg-dev: dpkg-shlibdeps,
# with which cpack computes the Debian package's dependencies (tools/package.sh).
packages=(
  cmake g++ ninja-build pkg-config
  libtorch-dev libopenblas0-pthread
  libopencv-dev libtomlplusplus-dev
  libboost-dev libboost-filesystem-dev
  libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev libgloo-dev
  libgtest-dev googletest libbenchmark-dev
  libmatio-dev libpng-dev libjpeg-dev zlib1g-dev
  libprotobuf-dev protobuf-compiler
  dpkg-dev
)
if [ "$with_test_tools" = 1 ]; then
  # libjpeg-turbo-progs: jpegtran writes the hostile progressive JPEGs of the tests.
  packages+=(python3 python3-torch python3-torchvision python3-pil python3-scipy python3-numpy python3-h5py
             python3-protobuf libjpeg-turbo-progs)
fi
if [ "$with_fuzz_tools" = 1 ]; then
  packages+=(clang libclang-rt-dev)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-deps: all ${#packages[@]} required packages are installed"
  exit 0
fi

echo "setup-deps: missing packages: ${missing[*]}"
[ "$dry_run" = 1 ] && exit 1

if [ "$(id -u)" != 0 ]; then
  echo "setup-deps: these packages are missing and installing them needs root:" >&2
  echo "  apt-get install -y ${missing[*]}" >&2
  echo "Run that as root (or run tools/setup-deps.sh as root), then retry." >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# An empty or stale package list makes apt-get install fail to find packages.
apt-get update -qq
echo "setup-deps: installing ${missing[*]}"
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup-deps: done"
