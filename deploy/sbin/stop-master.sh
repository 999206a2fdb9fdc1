#!/usr/bin/env bash
# Stops the master that start-master.sh started on this machine (SIGTERM, then SIGKILL
# after KILN_STOP_TIMEOUT seconds).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/kiln-daemon.sh"
kiln_stop master
