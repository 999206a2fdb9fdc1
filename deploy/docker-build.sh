#!/usr/bin/env bash
# Builds the Kiln image on a machine that reaches Debian's package mirror but no image
# registry (no base image can be pulled), from deploy/docker/Dockerfile unchanged:
#   1. builds Kiln on the host (build/, or KILN_BUILD_DIR) and stages the binaries and
#      examples into deploy/docker/prebuilt/ (deploy/docker/stage.sh);
#   2. makes the base image kiln-base:bookworm-<hash> with mmdebstrap from Debian 12's
#      packages (minbase plus deploy/docker/runtime-packages.txt), once: later builds
#      reuse it, so they take seconds;
#   3. docker build --build-arg KILN_FILES=prebuilt --build-arg BASE_IMAGE=<that base>.
# The host must be Debian 12, like the image, so that the binaries find their libraries.
# Run as root (mmdebstrap, docker). Usage: deploy/docker-build.sh [--tag TAG]
# (default kiln:latest). Prints the image's tag as its last line.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

tag=kiln:latest
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) [ $# -ge 2 ] || { echo "docker-build: --tag needs a value" >&2; exit 2; }
           tag=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "docker-build: unknown argument '$1' (expected --tag TAG)" >&2; exit 2 ;;
  esac
done

# A docker client that builds with BuildKit, which skips the stages an image does not use
# (the legacy builder would compile Kiln in the source stage as well).
docker_cli=""
for candidate in docker /usr/bin/docker; do
  command -v "$candidate" >/dev/null || continue
  if printf 'FROM scratch\nLABEL probe=1\n' |
     DOCKER_BUILDKIT=1 "$candidate" build -q -t kiln-buildkit-probe - >/dev/null 2>&1; then
    docker_cli=$candidate
    "$candidate" image rm kiln-buildkit-probe >/dev/null 2>&1 || true
    break
  fi
done
if [ -z "$docker_cli" ]; then
  echo "docker-build: no docker client here builds with BuildKit (install docker-buildx, or Debian's docker.io)" >&2
  exit 1
fi
export DOCKER_BUILDKIT=1

# 1. Kiln, built on the host.
build_dir=${KILN_BUILD_DIR:-build}
bash deploy/install-deps.sh >/dev/null
if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
# shellcheck disable=SC2046  # the targets are words
cmake --build "$build_dir" --target $(deploy/docker/stage.sh --targets) >/dev/null
deploy/docker/stage.sh "$build_dir" deploy/docker/prebuilt

# 2. The base image, from Debian's packages.
packages_file=deploy/docker/runtime-packages.txt
base="kiln-base:bookworm-$(sha256sum "$packages_file" | cut -c1-12)"
if ! "$docker_cli" image inspect "$base" >/dev/null 2>&1; then
  if ! command -v mmdebstrap >/dev/null; then
    echo "docker-build: installing mmdebstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null; }
  fi
  # The host's own mirror, which containers reach too.
  sources=/etc/apt/sources.list.d/debian.sources
  [ -f "$sources" ] || sources=/etc/apt/sources.list
  include=$(grep -v '^#' "$packages_file" | paste -sd, -)
  tmp=$(mktemp -d /tmp/kiln-base.XXXXXX)
  trap 'rm -rf "$tmp"' EXIT
  echo "docker-build: making $base with mmdebstrap (about a minute, once)"
  # The tarball first: a failed bootstrap imports nothing.
  mmdebstrap --quiet --variant=minbase --include="$include" \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    bookworm "$tmp/rootfs.tar" "$sources"
  "$docker_cli" import "$tmp/rootfs.tar" "$base" >/dev/null
fi

# 3. The image, from the unchanged Dockerfile.
"$docker_cli" build -q -f deploy/docker/Dockerfile --build-arg KILN_FILES=prebuilt \
  --build-arg BASE_IMAGE="$base" -t "$tag" . >/dev/null
echo "$tag"
