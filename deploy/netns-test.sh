#!/usr/bin/env bash
# Daemons on separate machines, tested for real: four network namespaces made here (a
# master, two workers and a submitting host, each with its own address on a bridge of a
# fifth namespace, joined by veth pairs), the daemons started with deploy/sbin's scripts
# as an operator would (authentication on: the master makes the secret, the operator
# copies it; a worker without it is refused), and
#   1. word count submitted from the fourth host equals a reference computed here;
#   2. a larger word count stays exact when one worker's link goes down in the middle of
#      it, and the master shows that worker DEAD;
# then stops the daemons with the sbin scripts and removes the namespaces, also when a
# check fails. Needs root (ip netns); exit 77 (skipped) where it cannot make namespaces.
# Uses the programs in KILN_BUILD_DIR (default build/). About 20 s.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
say() { echo "netns-test: $*"; }
skip() { say "SKIPPED: $*"; exit 77; }

bin=${KILN_BUILD_DIR:-build}/bin
for p in kiln-master kiln-worker kiln-submit wordcount; do
  [ -x "$bin/$p" ] || { say "FAILED: $bin/$p is not built"; exit 1; }
done
command -v ip >/dev/null || skip "no ip command (Debian's iproute2)"
[ "$(id -u)" -eq 0 ] || skip "needs root to make network namespaces"

run=$(mktemp -d /tmp/kiln-netns-test.XXXXXX)
id=$(basename "$run" | tr -dc 'a-zA-Z0-9' | tail -c 6)
ns_of() { echo "kiln-$id-$1"; }
nodes=(master worker1 worker2 client)
declare -A addr=([master]=10.77.0.1 [worker1]=10.77.0.2 [worker2]=10.77.0.3 [client]=10.77.0.4)
in_ns() { local node=$1; shift; ip netns exec "$(ns_of "$node")" "$@"; }
# The sbin scripts of one node, each node with its own pid, log and work dirs.
sbin() {
  local node=$1 script=$2
  shift 2
  in_ns "$node" env KILN_HOME="$repo" KILN_CONFIG_DIR="$run/$node/conf" \
    KILN_PID_DIR="$run/$node/pid" KILN_LOG_DIR="$run/$node/logs" \
    KILN_WORKER_DIR="$run/$node/work" "$@" "deploy/sbin/$script"
}

cleanup() {
  status=$?
  if [ "$status" -ne 0 ] && [ "$status" -ne 77 ]; then
    for node in "${nodes[@]}"; do
      for log in "$run/$node"/logs/*.out; do
        [ -f "$log" ] && { echo "--- $log" >&2; tail -n 15 "$log" >&2; }
      done
    done
  fi
  for node in worker1 worker2 master; do
    KILN_STOP_TIMEOUT=5 sbin "$node" "stop-${node%[0-9]}.sh" >/dev/null 2>&1 || true
  done
  for node in "${nodes[@]}" bridge; do
    # Anything left in the namespace (an executor, a driver) goes with it.
    for pid in $(ip netns pids "$(ns_of "$node")" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns delete "$(ns_of "$node")" 2>/dev/null || true
  done
  rm -rf "$run"
  exit "$status"
}
trap cleanup EXIT
. deploy/test-lib.sh

# The network: a bridge in a namespace of its own, a veth pair per node.
ip netns add "$(ns_of bridge)" 2>/dev/null || skip "cannot create a network namespace (ip netns add failed)"
in_ns bridge ip link add br0 type bridge
in_ns bridge ip link set br0 up
for node in "${nodes[@]}"; do
  ip netns add "$(ns_of "$node")"
  ip link add "kv$id${node:0:1}${node: -1}" type veth peer name eth0 netns "$(ns_of "$node")"
  ip link set "kv$id${node:0:1}${node: -1}" netns "$(ns_of bridge)"
  in_ns bridge ip link set "kv$id${node:0:1}${node: -1}" master br0 up
  in_ns "$node" ip addr add "${addr[$node]}/24" dev eth0
  in_ns "$node" ip link set eth0 up
  in_ns "$node" ip link set lo up
  mkdir -p "$run/$node/conf"
done

# The operator's configuration: kiln-env.sh per machine, as the README shows.
printf 'KILN_MASTER_HOST=%s\nKILN_MASTER_PORT=7077\nKILN_MASTER_WEBUI_PORT=8080\nKILN_CONF_kiln_worker_timeout=3s\n' \
  "${addr[master]}" >"$run/master/conf/kiln-env.sh"
for node in worker1 worker2; do
  printf 'KILN_MASTER_HOST=%s\nKILN_WORKER_HOST=%s\nKILN_WORKER_CORES=1\nKILN_WORKER_MEMORY=2g\n' \
    "${addr[master]}" "${addr[$node]}" >"$run/$node/conf/kiln-env.sh"
  printf 'kiln.worker.heartbeatInterval 500ms\n' >"$run/$node/conf/kiln-defaults.conf"
done

say "starting the master and two workers with deploy/sbin (authentication on by default)"
sbin master start-master.sh
[ -s "$run/master/conf/secret" ] || fail "start-master.sh made no secret in its config dir"
if sbin worker1 start-worker.sh >"$run/nosecret.out" 2>&1; then
  fail "a worker without the cluster's secret started"
fi
grep -q "no secret in" "$run/nosecret.out" ||
  fail "a worker without the secret does not say why: $(tail -2 "$run/nosecret.out")"
# The operator copies the master's secret to the workers and to the submitting machine.
for node in worker1 worker2 client; do
  mkdir -p "$run/$node/conf"
  install -m 600 "$run/master/conf/secret" "$run/$node/conf/secret"
done
sbin worker1 start-worker.sh
sbin worker2 start-worker.sh
grep -q 'security="authentication on' "$run"/master/logs/*.out ||
  fail "the master does not log authentication on"
master_count() { JSON_VIA="ip netns exec $(ns_of client)" json_count "http://${addr[master]}:8080/json" "$1"; }
workers_in() { master_count "sum(w['state'] == '$1' for w in j['workers'])"; }
busy() { [ "$(master_count "sum(w['coresused'] for w in j['workers'])")" -gt 0 ]; }
alive_is() { [ "$(workers_in ALIVE)" -eq "$1" ]; }
dead_is() { [ "$(workers_in DEAD)" -eq "$1" ]; }
wait_for 20 "2 ALIVE workers" alive_is 2

submit() {
  in_ns client env KILN_CONF_kiln_network_timeout=3s KILN_CONF_kiln_executor_heartbeatInterval=500ms \
    KILN_CONF_kiln_shuffle_io_retryWait=500ms \
    "$bin/kiln-submit" --master "kiln://${addr[master]}:7077" --conf "kiln.driver.host=${addr[client]}" \
    --conf kiln.authenticate=true --conf "kiln.authenticate.secretFile=$run/client/conf/secret" \
    "$bin/wordcount" "$@"
}

say "1. word count from the fourth host"
submit examples/data/sample.txt "$run/out1" >"$run/submit1.out" 2>"$run/submit1.err" ||
  fail "submit exited with an error: $(tail -3 "$run/submit1.err")"
check_output "$run/out1" examples/data/sample.txt

say "2. a worker's link goes down in the middle of a job"
make_words "$run/big" 6 24
submit "$run/big" "$run/out2" >"$run/submit2.out" 2>"$run/submit2.err" &
job=$!
wait_for 30 "the job's executors" busy
in_ns worker2 ip link set eth0 down
kill -0 "$job" 2>/dev/null || fail "the job ended before the link went down: not mid-job"
wait "$job" || fail "submit exited with an error: $(tail -3 "$run/submit2.err")"
check_output "$run/out2" "$run/big"/part*.txt
wait_for 20 "the cut-off worker DEAD" dead_is 1
alive_is 1 || fail "expected 1 ALIVE worker"

say "stopping with deploy/sbin"
in_ns worker2 ip link set eth0 up
for node in worker1 worker2; do sbin "$node" stop-worker.sh >/dev/null; done
sbin master stop-master.sh >/dev/null
for node in "${nodes[@]}"; do
  [ -z "$(ip netns pids "$(ns_of "$node")")" ] || fail "processes are left in $node: $(ip netns pids "$(ns_of "$node")" | tr '\n' ' ')"
done
say "all checks passed"
