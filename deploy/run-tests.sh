#!/usr/bin/env bash
# Installs the dependencies, then runs the whole test suite:
#   1. the format check (clang-format, .clang-format at the root);
#   2. a Release build in build/ (Ninja; warnings are errors when CI is set) and every
#      test with ctest, which prints the summary;
#   3. a clang build of the whole tree in build-clang/ with -Wthread-safety -Werror,
#      which checks the ABSL_GUARDED_BY / ABSL_EXCLUSIVE_LOCKS_REQUIRED annotations.
# Exits 1 if any step fails (the others run regardless; the tests only after a good
# build). KILN_BUILD_DIR
# overrides build/; extra arguments go to ctest (e.g. -L unit, -R cluster).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash deploy/install-deps.sh --checks

build_dir="${KILN_BUILD_DIR:-build}"
werror=OFF
if [ -n "${CI:-}" ]; then werror=ON; fi
failed=()

echo "run-tests: format check"
mapfile -t sources < <(git ls-files '*.h' '*.cc' 2>/dev/null || find . -path ./build -prune -o \( -name '*.h' -o -name '*.cc' \) -print)
if ! clang-format --dry-run --Werror "${sources[@]}"; then
  echo "run-tests: files above are not formatted (clang-format -i FILE fixes them)" >&2
  failed+=("format")
fi

if cmake -S . -B "${build_dir}" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKILN_WERROR="${werror}" &&
   cmake --build "${build_dir}"; then
  if ! ctest --test-dir "${build_dir}" --output-on-failure -j2 --timeout 300 "$@"; then
    failed+=("ctest")
  fi
else
  failed+=("build")  # no tests to run
fi

echo "run-tests: clang build with -Wthread-safety -Werror"
clang_dir="${build_dir}-clang"
if ! { cmake -S . -B "${clang_dir}" -G Ninja -DCMAKE_CXX_COMPILER=clang++ \
         -DCMAKE_BUILD_TYPE=Debug -DKILN_WERROR=ON >/dev/null &&
       cmake --build "${clang_dir}"; }; then
  failed+=("clang thread-safety build")
fi

if [ "${#failed[@]}" -gt 0 ]; then
  echo "run-tests: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "run-tests: all checks passed"
