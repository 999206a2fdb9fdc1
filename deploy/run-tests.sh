#!/usr/bin/env bash
# Installs the dependencies, builds everything in build/ (Ninja, Release) and runs the
# whole test suite with ctest. Exits with ctest's code. Warnings are errors when CI is
# set. KILN_BUILD_DIR overrides the build directory; extra arguments go to ctest
# (e.g. -L unit, -R cluster).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash deploy/install-deps.sh

build_dir="${KILN_BUILD_DIR:-build}"
werror=OFF
if [ -n "${CI:-}" ]; then werror=ON; fi
cmake -S . -B "${build_dir}" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKILN_WERROR="${werror}"
cmake --build "${build_dir}"

set +e
ctest --test-dir "${build_dir}" --output-on-failure -j2 --timeout 300 "$@"
code=$?
set -e
exit "${code}"
