#!/usr/bin/env bash
# bench/run.sh [--quick] [--only B1,B2] [--systems kiln,spark,dask,single] [--reps N]
#
# Installs what the benchmarks need (Kiln's build dependencies, JDK 17, iperf3, pyspark and
# Dask from PyPI), builds Kiln (Release), generates the seeded inputs once (in
# $KILN_BENCH_DATA, default /var/tmp/kiln-bench) and runs bench/harness.py, which
# prints the results table. --quick: smaller inputs and fewer repetitions (about 12 min).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash deploy/install-deps.sh
missing=()
command -v javac >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
command -v iperf3 >/dev/null 2>&1 || missing+=(iperf3)
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
python3 -m pip install --quiet --disable-pip-version-check \
  'pyspark==4.3.0' 'dask[distributed]==2026.8.0' 'pandas==3.1.1' 'pyarrow==26.0.1'

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target kiln-master kiln-worker kiln-submit kiln_bench bench_data \
  bench_single_wordcount bench_single_sort bench_single_pagerank

exec python3 bench/harness.py "$@"
