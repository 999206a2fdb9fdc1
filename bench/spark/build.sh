#!/usr/bin/env bash
# Builds the Spark side of the benchmark: OUTDIR/kiln-bench-spark.jar.
# Compiles bench/spark/*.java against the jars shipped in the installed pyspark
# package. Skips the build when the jar is newer than every source file.
#
# usage: bench/spark/build.sh OUTDIR
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
src_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$1"
out_dir="$(cd "$1" && pwd)"
jar_path="$out_dir/kiln-bench-spark.jar"

shopt -s nullglob
sources=("$src_dir"/*.java)
if [[ ${#sources[@]} -eq 0 ]]; then
  echo "build.sh: no .java sources in $src_dir" >&2
  exit 1
fi

stale=0
if [[ ! -f "$jar_path" ]]; then
  stale=1
else
  for s in "${sources[@]}" "${BASH_SOURCE[0]}"; do
    if [[ "$s" -nt "$jar_path" ]]; then stale=1; fi
  done
fi
if [[ $stale -eq 0 ]]; then
  echo "build.sh: $jar_path is up to date" >&2
  exit 0
fi

if ! pyspark_dir="$(python3 -c 'import pyspark,os;print(os.path.dirname(pyspark.__file__))')"; then
  echo "build.sh: pyspark is not importable by python3; pip install pyspark" >&2
  exit 1
fi
if [[ -z "${JAVA_HOME:-}" ]]; then
  JAVA_HOME="$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")"
fi
classes="$(mktemp -d "$out_dir/.kiln-bench-spark-classes.XXXXXX")"
trap 'rm -rf "$classes"' EXIT

"$JAVA_HOME/bin/javac" --release 17 -nowarn -encoding UTF-8 \
  -cp "$pyspark_dir/jars/*" -d "$classes" "${sources[@]}"
tmp_jar="$out_dir/.kiln-bench-spark.jar.tmp"
"$JAVA_HOME/bin/jar" --create --file "$tmp_jar" -C "$classes" .
mv -f "$tmp_jar" "$jar_path"
echo "build.sh: wrote $jar_path" >&2
