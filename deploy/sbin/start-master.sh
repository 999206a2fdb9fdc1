#!/usr/bin/env bash
# Starts a Kiln master on this machine in the background: start-master.sh [kiln-master
# flags], e.g. --host 10.0.0.1. From kiln-env.sh: KILN_MASTER_HOST (address to listen on,
# default 0.0.0.0), KILN_MASTER_PORT (7077), KILN_MASTER_WEBUI_PORT (8080); settings from
# kiln-defaults.conf. Authentication on: the first start makes the cluster's secret,
# $KILN_CONFIG_DIR/secret (KILN_AUTHENTICATE, KILN_SECRET_FILE: see kiln-daemon.sh, with
# the other variables).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/kiln-daemon.sh"
mapfile -t props < <(kiln_properties)
kiln_make_secret
kiln_set_auth_args
kiln_start master kiln-master --host "${KILN_MASTER_HOST:-0.0.0.0}" \
  --port "${KILN_MASTER_PORT:-7077}" --ui-port "${KILN_MASTER_WEBUI_PORT:-8080}" \
  "${props[@]}" "${kiln_auth[@]}" "$@"
