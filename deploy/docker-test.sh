#!/usr/bin/env bash
# The docker-compose cluster, tested for real: builds the image (deploy/docker-build.sh),
# brings up docker-compose.yml (a master and three workers) under a project name of its
# own, and checks
#   1. word count of examples/data/sample.txt through the submit service equals a
#      reference computed here;
#   2. a larger word count stays exact when one worker container is `docker kill`ed in
#      the middle of it;
#   3. another stays exact when a second worker is cut off with `docker network
#      disconnect` in the middle of it, and the master shows that worker DEAD;
# then removes every container, network and volume it made, also when a check fails.
# Exit 0 when all pass, 1 when one fails, 77 (skipped) where Docker cannot run.
# Every wait has a deadline; the whole run takes about a minute once the image is built.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

say() { echo "docker-test: $*"; }
skip() { say "SKIPPED: $*"; exit 77; }

command -v docker >/dev/null || skip "no docker command on this machine"
docker info >/dev/null 2>&1 || skip "the Docker engine does not answer (docker info fails)"
if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
elif command -v docker-compose >/dev/null; then
  compose=(docker-compose)
else
  skip "neither 'docker compose' nor docker-compose is installed"
fi

image=$(bash deploy/docker-build.sh --tag kiln:test | tail -n 1)
say "image $image"

run=$(mktemp -d /tmp/kiln-docker-test.XXXXXX)
project="kilntest$(basename "$run" | tr -dc 'a-z0-9' | tr 'A-Z' 'a-z')"
ui_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export COMPOSE_PROJECT_NAME=$project KILN_IMAGE=$image KILN_DATA_DIR=$run/data \
  KILN_MASTER_UI_PORT=$ui_port KILN_WORKER_CORES=1 KILN_WORKER_MEMORY=2g
# Short timeouts, so that a cut-off worker is noticed within seconds (an override file, as
# an operator would write one).
cat >"$run/override.yml" <<'EOF'
version: "2.4"
services:
  master:
    environment:
      KILN_CONF_kiln_worker_timeout: 4s
  worker:
    environment:
      KILN_CONF_kiln_worker_heartbeatInterval: 500ms
  submit:
    environment:
      KILN_CONF_kiln_network_timeout: 4s
      KILN_CONF_kiln_executor_heartbeatInterval: 500ms
      KILN_CONF_kiln_shuffle_io_retryWait: 500ms
EOF
dc() { "${compose[@]}" -f docker-compose.yml -f "$run/override.yml" "$@"; }

cleanup() {
  status=$?
  if [ "$status" -ne 0 ] && [ "$status" -ne 77 ]; then
    say "FAILED; the cluster's last log lines:"
    dc logs --no-color --tail 30 >&2 2>&1 || true
  fi
  dc --profile submit down -v --remove-orphans --timeout 5 >/dev/null 2>&1 || true
  rm -rf "$run"
  exit "$status"
}
trap cleanup EXIT

fail() { say "FAILED: $*" >&2; exit 1; }

# Polls `$@` until it succeeds, for at most $deadline seconds.
wait_for() {
  local deadline=$1 what=$2
  shift 2
  local end=$((SECONDS + deadline))
  until "$@"; do
    [ "$SECONDS" -lt "$end" ] || fail "timed out after ${deadline}s waiting for $what"
    sleep 0.2
  done
}

master_json() { python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode())' "http://127.0.0.1:$ui_port/json"; }
# How many workers the master shows in state $1.
workers_in() { master_json 2>/dev/null | python3 -c 'import json, sys; print(sum(w["state"] == sys.argv[1] for w in json.load(sys.stdin)["workers"]))' "$1" 2>/dev/null || echo 0; }
alive_is() { [ "$(workers_in ALIVE)" -eq "$1" ]; }
dead_is() { [ "$(workers_in DEAD)" -eq "$1" ]; }
cores_in_use() { master_json 2>/dev/null | python3 -c 'import json, sys; print(sum(w["coresused"] for w in json.load(sys.stdin)["workers"]))' 2>/dev/null || echo 0; }
busy() { [ "$(cores_in_use)" -gt 0 ]; }

# word count's reference: sorted "word<TAB>count" lines of the input files.
reference() { python3 - "$@" <<'PY'
import collections, sys
counts = collections.Counter()
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        for line in f:
            counts.update(line.split())
for word in sorted(counts):
    sys.stdout.buffer.write(word + b"\t" + str(counts[word]).encode() + b"\n")
PY
}
# Checks that output dir $1 holds _SUCCESS and parts whose lines are the reference of $2...
check_output() {
  local out=$1
  shift
  [ -f "$out/_SUCCESS" ] || fail "$out has no _SUCCESS"
  [ ! -e "$out/_temporary" ] || fail "$out still has _temporary"
  cat "$out"/part-* | LC_ALL=C sort >"$run/got"
  reference "$@" | LC_ALL=C sort >"$run/want"
  cmp -s "$run/got" "$run/want" || fail "$out differs from the reference ($(diff "$run/got" "$run/want" | head -5))"
}

mkdir -p "$run/data"
cp examples/data/sample.txt "$run/data/"
# Input of a few seconds' work: 8 files of 24 MiB of words from a small vocabulary.
python3 - "$run/data/big" <<'PY'
import os, random, sys
os.makedirs(sys.argv[1])
rng = random.Random(7)
vocab = ["w%d" % i for i in range(5000)]
lines = [" ".join(rng.choice(vocab) for _ in range(12)) + "\n" for _ in range(20000)]
chunk = "".join(lines).encode()
for i in range(8):
    with open(os.path.join(sys.argv[1], "part%d.txt" % i), "wb") as f:
        for _ in range(24 * (1 << 20) // len(chunk) + 1):
            f.write(chunk)
PY
chown -R 10001:10001 "$run/data"

say "starting project $project (master UI on 127.0.0.1:$ui_port)"
dc up -d >/dev/null 2>&1 || fail "docker-compose up failed: $(dc up -d 2>&1 | tail -3)"
wait_for 60 "3 ALIVE workers" alive_is 3
mapfile -t workers < <(dc ps -q worker)
[ "${#workers[@]}" -eq 3 ] || fail "expected 3 worker containers, got ${#workers[@]}"

say "1. word count through the submit service"
dc run --rm submit >"$run/submit1.out" 2>"$run/submit1.err" ||
  fail "submit exited $?: $(tail -5 "$run/submit1.err")"
check_output "$run/data/wordcount" examples/data/sample.txt
head -n 1 "$run/submit1.out" | grep -q . || fail "submit printed no top words"

# Runs a word count of data/big in the background; its pid in $job.
start_big_job() {
  # --no-deps: compose would otherwise start the killed worker again.
  dc run --rm --no-deps submit /opt/kiln/bin/wordcount /data/big "/data/$1" \
    >"$run/$1.out" 2>"$run/$1.err" &
  job=$!
  wait_for 60 "the job's executors to start" busy
}
finish_big_job() {
  wait "$job" || fail "submit of $1 exited with an error: $(tail -5 "$run/$1.err")"
  check_output "$run/data/$1" "$run/data/big"/part*.txt
}

say "2. a worker container is killed in the middle of a job"
start_big_job killed
docker kill "${workers[0]}" >/dev/null
kill -0 "$job" 2>/dev/null || fail "the job ended before the kill: not a mid-job kill"
finish_big_job killed
wait_for 30 "the killed worker DEAD" dead_is 1

say "3. a worker is cut off from the network in the middle of a job"
network="${project}_default"
start_big_job cut
docker network disconnect "$network" "${workers[1]}"
kill -0 "$job" 2>/dev/null || fail "the job ended before the cut: not a mid-job cut"
finish_big_job cut
wait_for 30 "the cut-off worker DEAD" dead_is 2
[ "$(workers_in ALIVE)" -eq 1 ] || fail "expected 1 ALIVE worker, the master shows $(workers_in ALIVE)"

say "all checks passed"
