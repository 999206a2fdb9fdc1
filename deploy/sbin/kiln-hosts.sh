# Sourced by start-cluster.sh and stop-cluster.sh: kiln_on_workers SCRIPT ARGS... runs
# sbin/SCRIPT on every host of $KILN_CONFIG_DIR/workers, over ssh except for localhost,
# and fails if it failed on any.
kiln_on_workers() {
  local script=$1
  shift
  local hosts_file="$KILN_CONFIG_DIR/workers" hosts=() failed=()
  if [ -f "$hosts_file" ]; then
    mapfile -t hosts < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$hosts_file" | grep -v '^$')
  else
    hosts=(localhost)
  fi
  local host
  for host in "${hosts[@]}"; do
    echo "$host: $script${*:+ $*}"
    if [ "$host" = localhost ] || [ "$host" = 127.0.0.1 ]; then
      "$kiln_sbin/$script" "$@" || failed+=("$host")
    else
      # shellcheck disable=SC2086  # KILN_SSH_OPTS holds several options
      ssh ${KILN_SSH_OPTS:-} "$host" "KILN_HOME=$(printf %q "$KILN_HOME") KILN_CONFIG_DIR=$(printf %q "$KILN_CONFIG_DIR") $(printf %q "$kiln_sbin/$script")$(printf ' %q' "$@")" ||
        failed+=("$host")
    fi
  done
  if [ "${#failed[@]}" -gt 0 ]; then
    echo "$script failed on: ${failed[*]}" >&2
    return 1
  fi
}
