#!/usr/bin/env bash
# The docker-compose cluster, tested for real: builds the image (deploy/docker-build.sh),
# brings up docker-compose.yml (a master and three workers) under a project name of its
# own, and checks
#   1. word count of examples/data/sample.txt through the submit service equals a
#      reference computed here, on a cluster authenticated by default;
#   2. a driver without the cluster's secret is refused, saying why;
#   3. a larger word count stays exact when one worker container is `docker kill`ed in
#      the middle of it;
#   4. another stays exact when a second worker is cut off with `docker network
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

. deploy/test-lib.sh

master_json_count() { json_count "http://127.0.0.1:$ui_port/json" "$1"; }
alive_is() { [ "$(master_json_count 'sum(w["state"] == "ALIVE" for w in j["workers"])')" -eq "$1" ]; }
dead_is() { [ "$(master_json_count 'sum(w["state"] == "DEAD" for w in j["workers"])')" -eq "$1" ]; }
busy() { [ "$(master_json_count 'sum(w["coresused"] for w in j["workers"])')" -gt 0 ]; }

mkdir -p "$run/data"
cp examples/data/sample.txt "$run/data/"
# Input of a few seconds' work: 8 files of 24 MiB.
make_words "$run/data/big" 8 24
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
grep -q 'security="authentication on' <(dc logs --no-color master) ||
  fail "the master does not log authentication on"

say "2. a driver without the secret is refused"
if dc run --rm --no-deps -e KILN_CONF_kiln_authenticate=false submit \
  >"$run/nosecret.out" 2>"$run/nosecret.err"; then
  fail "a submit without the secret succeeded"
fi
grep -q "requires authentication" "$run/nosecret.err" ||
  fail "the refusal does not say why: $(tail -3 "$run/nosecret.err")"

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

say "3. a worker container is killed in the middle of a job"
start_big_job killed
docker kill "${workers[0]}" >/dev/null
kill -0 "$job" 2>/dev/null || fail "the job ended before the kill: not a mid-job kill"
finish_big_job killed
wait_for 30 "the killed worker DEAD" dead_is 1

say "4. a worker is cut off from the network in the middle of a job"
network="${project}_default"
start_big_job cut
docker network disconnect "$network" "${workers[1]}"
kill -0 "$job" 2>/dev/null || fail "the job ended before the cut: not a mid-job cut"
finish_big_job cut
wait_for 30 "the cut-off worker DEAD" dead_is 2
alive_is 1 || fail "expected 1 ALIVE worker, the master shows another number"

say "all checks passed"
