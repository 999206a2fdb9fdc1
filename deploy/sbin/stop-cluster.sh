#!/usr/bin/env bash
# Stops the workers of $KILN_CONFIG_DIR/workers (as start-cluster.sh reaches them), then
# the master here.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/kiln-daemon.sh"
. "$kiln_sbin/kiln-hosts.sh"
status=0
kiln_on_workers stop-worker.sh || status=1
"$kiln_sbin/stop-master.sh" || status=1
exit "$status"
