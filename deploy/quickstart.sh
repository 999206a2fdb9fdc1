#!/usr/bin/env bash
# Sets up everything, starts a master and two workers on 127.0.0.1, submits the
# wordcount example on examples/data/sample.txt, prints the 10 most frequent words and
# stops the cluster. Run from anywhere, as root on Debian 12 (or with sudo rights).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

bash deploy/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target kiln-master kiln-worker kiln-submit wordcount

run=$(mktemp -d /tmp/kiln-quickstart.XXXXXX)
pids=()
cleanup() {
  status=$?
  # Workers first, so they can still tell the master that their executors stopped.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill "${pids[$i]}" 2>/dev/null || true
    wait "${pids[$i]}" 2>/dev/null || true
  done
  if [ "$status" -ne 0 ]; then
    echo "quickstart failed; last lines of the daemons' logs:" >&2
    tail -n 20 "$run"/*.log >&2 || true
  fi
  rm -rf "$run"
}
trap cleanup EXIT

# Waits until file $1 exists (a daemon's ready file), failing if process $2 died.
wait_ready() {
  for _ in $(seq 1 300); do
    [ -s "$1" ] && return 0
    kill -0 "$2" 2>/dev/null || { echo "a daemon exited during start-up" >&2; return 1; }
    sleep 0.1
  done
  echo "timed out waiting for $1" >&2
  return 1
}
port_of() { sed -n "s/^$2=//p" "$1"; }

build/bin/kiln-master --host 127.0.0.1 --port 0 --ui-port 0 --ready-file "$run/master.ready" \
  >"$run/master.log" 2>&1 &
pids+=($!)
wait_ready "$run/master.ready" "${pids[0]}"
master_port=$(port_of "$run/master.ready" grpc_port)
ui_port=$(port_of "$run/master.ready" ui_port)
master="kiln://127.0.0.1:$master_port"

for i in 1 2; do
  build/bin/kiln-worker --master "$master" --host 127.0.0.1 --port 0 --ui-port 0 \
    --cores 1 --memory 1g --work-dir "$run/worker$i" --ready-file "$run/worker$i.ready" \
    >"$run/worker$i.log" 2>&1 &
  pids+=($!)
  wait_ready "$run/worker$i.ready" "${pids[$i]}"
done
for _ in $(seq 1 300); do
  alive=$(curl -s "http://127.0.0.1:$ui_port/json" | grep -o '"state":"ALIVE"' | wc -l)
  [ "$alive" -ge 2 ] && break
  sleep 0.1
done
echo "cluster: master $master (UI http://127.0.0.1:$ui_port), 2 workers"

echo "top 10 words of examples/data/sample.txt:"
build/bin/kiln-submit --master "$master" build/bin/wordcount examples/data/sample.txt "$run/counts"
echo "(the cluster has been stopped)"
