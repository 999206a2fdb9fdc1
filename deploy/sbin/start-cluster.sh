#!/usr/bin/env bash
# Starts a master here and a worker on every host of $KILN_CONFIG_DIR/workers (one host
# per line, # comments; default: localhost), over ssh ($KILN_SSH_OPTS) with the same
# KILN_HOME path on every host; localhost without ssh. The workers register with
# kiln://$KILN_MASTER_HOST:$KILN_MASTER_PORT, KILN_MASTER_HOST defaulting to this
# machine's name (hostname -f).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/kiln-daemon.sh"
export KILN_MASTER_HOST=${KILN_MASTER_HOST:-$(hostname -f)}
"$kiln_sbin/start-master.sh"
. "$kiln_sbin/kiln-hosts.sh"
kiln_on_workers start-worker.sh "kiln://$KILN_MASTER_HOST:${KILN_MASTER_PORT:-7077}"
