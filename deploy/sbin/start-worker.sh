#!/usr/bin/env bash
# Starts a Kiln worker on this machine in the background and waits until it has
# registered: start-worker.sh [kiln://MASTER:PORT] [kiln-worker flags]. Without a URL,
# kiln://$KILN_MASTER_HOST:$KILN_MASTER_PORT. From kiln-env.sh: KILN_WORKER_HOST (the
# address it advertises: one the master, drivers and other workers reach), KILN_WORKER_CORES,
# KILN_WORKER_MEMORY, KILN_WORKER_PORT (7078), KILN_WORKER_WEBUI_PORT (8081),
# KILN_WORKER_DIR (default $KILN_HOME/work). Authentication on: the master's secret must
# be in $KILN_CONFIG_DIR/secret (KILN_AUTHENTICATE, KILN_SECRET_FILE: see kiln-daemon.sh).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/kiln-daemon.sh"
if [ $# -gt 0 ] && [[ "$1" == kiln://* ]]; then
  url=$1
  shift
elif [ -n "${KILN_MASTER_HOST:-}" ] && [ "${KILN_MASTER_HOST}" != "0.0.0.0" ]; then
  url="kiln://$KILN_MASTER_HOST:${KILN_MASTER_PORT:-7077}"
else
  kiln_fail "usage: start-worker.sh kiln://MASTER:PORT [kiln-worker flags] (or set KILN_MASTER_HOST in kiln-env.sh)"
fi
args=(--master "$url" --port "${KILN_WORKER_PORT:-7078}" --ui-port "${KILN_WORKER_WEBUI_PORT:-8081}"
      --work-dir "${KILN_WORKER_DIR:-$KILN_HOME/work}")
[ -z "${KILN_WORKER_HOST:-}" ] || args+=(--host "$KILN_WORKER_HOST")
[ -z "${KILN_WORKER_CORES:-}" ] || args+=(--cores "$KILN_WORKER_CORES")
[ -z "${KILN_WORKER_MEMORY:-}" ] || args+=(--memory "$KILN_WORKER_MEMORY")
mapfile -t props < <(kiln_properties)
kiln_set_auth_args
kiln_start worker kiln-worker "${args[@]}" "${props[@]}" "${kiln_auth[@]}" "$@"
