#!/usr/bin/env bash
# Installs every build and runtime dependency of Kiln from Debian 12's packages; with
# --checks, also the tools of the test suite's checks (clang for the thread-safety
# analysis, clang-format, and headless Chromium for the application UI's browser test). Idempotent: packages already present are
# skipped; apt-get update runs only when something is missing. Run as root (or through
# sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libspdlog-dev libfmt-dev catch2
  liblz4-dev libzstd-dev zlib1g-dev libxxhash-dev libjemalloc-dev libcpp-httplib-dev libssl-dev nlohmann-json3-dev
  curl python3 procps
)
case "${1:-}" in
  "") ;;
  --checks) packages+=(clang clang-format chromium) ;;
  *) echo "install-deps: unknown argument '$1' (expected --checks or nothing)" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
