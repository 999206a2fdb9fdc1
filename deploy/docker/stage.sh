#!/usr/bin/env bash
# Copies what the Kiln image ships from a build tree into DEST (laid out as /opt/kiln):
# the daemons, kiln-submit, kiln-doctor and kiln-history, the example programs and their data. Used by the image's
# source stage and by deploy/docker-build.sh (which stages a host build).
#   deploy/docker/stage.sh BUILD_DIR DEST
#   deploy/docker/stage.sh --targets      (the CMake targets to build first)
set -euo pipefail
programs=(kiln-master kiln-worker kiln-exec-standby kiln-submit kiln-doctor kiln-history wordcount city_report)
if [ "${1:-}" = "--targets" ]; then
  echo "${programs[*]}"
  exit 0
fi
if [ $# -ne 2 ]; then
  echo "usage: stage.sh BUILD_DIR DEST, or stage.sh --targets" >&2
  exit 2
fi
build=$1 dest=$2
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
for p in "${programs[@]}"; do
  if [ ! -x "$build/bin/$p" ]; then
    echo "stage.sh: $build/bin/$p is not built (cmake --build $build --target ${programs[*]})" >&2
    exit 1
  fi
done
rm -rf "$dest/bin" "$dest/examples"
mkdir -p "$dest/bin" "$dest/examples"
install -m 0755 "${programs[@]/#/$build/bin/}" "$dest/bin/"
cp -r "$repo/examples/data" "$dest/examples/data"
