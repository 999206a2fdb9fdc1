#!/usr/bin/env bash
# Stops the worker that start-worker.sh started on this machine; its executors stop with
# it and the master is told at once.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/kiln-daemon.sh"
kiln_stop worker
