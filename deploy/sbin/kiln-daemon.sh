# Sourced by the scripts in this directory (not run): where Kiln's programs and
# configuration are, and how a daemon is started in the background with a pid file and
# stopped again, as Spark's sbin scripts do.
#
# Environment (all optional; $KILN_CONFIG_DIR/kiln-env.sh may set them too):
#   KILN_HOME          where Kiln is: the install prefix (bin/, sbin/), or the source tree
#                      (programs in build/bin); default: found from this script's place
#   KILN_CONFIG_DIR    kiln-env.sh, kiln-defaults.conf, workers; default $KILN_HOME/conf.
#                      (Not KILN_CONF_DIR: KILN_CONF_* variables are settings.)
#   KILN_LOG_DIR       daemons' output; default $KILN_HOME/logs
#   KILN_PID_DIR       pid and ready files; default /tmp
#   KILN_IDENT_STRING  in file names, to tell users' daemons apart; default $USER
#   KILN_NO_DAEMONIZE  set: run the daemon in the foreground (systemd units, containers)
#   KILN_START_TIMEOUT seconds to wait for a daemon to be ready (default 60)
#   KILN_STOP_TIMEOUT  seconds between SIGTERM and SIGKILL when stopping (default 30)
#   KILN_AUTHENTICATE  true (default): the daemons authenticate every RPC with the shared
#                      secret in KILN_SECRET_FILE (or KILN_AUTH_SECRET, if set); false: off
#   KILN_SECRET_FILE   default $KILN_CONFIG_DIR/secret; start-master.sh makes one if absent

kiln_sbin=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -z "${KILN_HOME:-}" ]; then
  if [ -x "$kiln_sbin/../bin/kiln-master" ]; then
    KILN_HOME=$(cd "$kiln_sbin/.." && pwd)         # installed: PREFIX/sbin
  else
    KILN_HOME=$(cd "$kiln_sbin/../.." && pwd)      # source tree: deploy/sbin
  fi
fi
if [ -x "$KILN_HOME/bin/kiln-master" ]; then
  kiln_bin=$KILN_HOME/bin
else
  kiln_bin=$KILN_HOME/build/bin
fi
KILN_CONFIG_DIR=${KILN_CONFIG_DIR:-$KILN_HOME/conf}
if [ -f "$KILN_CONFIG_DIR/kiln-env.sh" ]; then
  set -a
  # shellcheck source=/dev/null
  . "$KILN_CONFIG_DIR/kiln-env.sh"
  set +a
fi
KILN_LOG_DIR=${KILN_LOG_DIR:-$KILN_HOME/logs}
KILN_PID_DIR=${KILN_PID_DIR:-/tmp}
KILN_IDENT_STRING=${KILN_IDENT_STRING:-${USER:-$(id -un)}}

kiln_fail() { echo "$(basename "$0"): $*" >&2; exit 1; }

# The --properties-file flag for kiln-defaults.conf, if there is one.
kiln_properties() {
  if [ -f "$KILN_CONFIG_DIR/kiln-defaults.conf" ]; then
    echo "--properties-file"
    echo "$KILN_CONFIG_DIR/kiln-defaults.conf"
  fi
}

kiln_pid_file() { echo "$KILN_PID_DIR/kiln-$KILN_IDENT_STRING-$1.pid"; }

KILN_SECRET_FILE=${KILN_SECRET_FILE:-$KILN_CONFIG_DIR/secret}

# Sets the array kiln_auth to the --conf flags that turn authentication on, unless
# KILN_AUTHENTICATE=false. The secret: $KILN_AUTH_SECRET if set (the daemon reads it from
# its environment), else the file $KILN_SECRET_FILE, which must exist: kiln_make_secret
# creates it on the master, operators copy it to the other machines.
kiln_set_auth_args() {
  kiln_auth=()
  case "${KILN_AUTHENTICATE:-true}" in
    true) ;;
    false) return 0 ;;
    *) kiln_fail "KILN_AUTHENTICATE=$KILN_AUTHENTICATE: expected true or false" ;;
  esac
  kiln_auth=(--conf kiln.authenticate=true)
  [ -z "${KILN_AUTH_SECRET:-}" ] || return 0
  [ -s "$KILN_SECRET_FILE" ] || kiln_fail "no secret in $KILN_SECRET_FILE: copy the master's \
secret file to this machine (mode 600), or set KILN_AUTHENTICATE=false in kiln-env.sh"
  kiln_auth+=(--conf "kiln.authenticate.secretFile=$KILN_SECRET_FILE")
}

# Makes $KILN_SECRET_FILE (32 random bytes, base64, mode 600) unless it exists, or
# authentication is off, or the secret comes from KILN_AUTH_SECRET.
kiln_make_secret() {
  [ "${KILN_AUTHENTICATE:-true}" = true ] && [ -z "${KILN_AUTH_SECRET:-}" ] || return 0
  [ ! -s "$KILN_SECRET_FILE" ] || return 0
  mkdir -p "$(dirname "$KILN_SECRET_FILE")" || kiln_fail "cannot create $(dirname "$KILN_SECRET_FILE")"
  (umask 077 && head -c 32 /dev/urandom | base64 >"$KILN_SECRET_FILE") ||
    kiln_fail "cannot write $KILN_SECRET_FILE"
  echo "made the cluster's secret $KILN_SECRET_FILE: copy it (mode 600) to every worker and every machine that submits"
}

# The pid in $1's pid file if that process is alive and is a Kiln daemon, else nothing.
kiln_running_pid() {
  local pid_file pid
  pid_file=$(kiln_pid_file "$1")
  [ -f "$pid_file" ] || return 0
  pid=$(cat "$pid_file")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
     tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "kiln-"; then
    echo "$pid"
  fi
}

# kiln_start NAME PROGRAM ARGS...: starts PROGRAM (kiln-master or kiln-worker) in the
# background, logging to $KILN_LOG_DIR, and waits until it is ready (a worker: registered
# with its master). Fails, with the end of its log, if it exits first.
kiln_start() {
  local name=$1 program=$2
  shift 2
  [ -x "$kiln_bin/$program" ] || kiln_fail "$kiln_bin/$program is not built or installed (set KILN_HOME)"
  if [ -n "${KILN_NO_DAEMONIZE:-}" ]; then
    exec "$kiln_bin/$program" "$@"
  fi
  local pid
  pid=$(kiln_running_pid "$name")
  [ -z "$pid" ] || kiln_fail "$name is already running as process $pid; stop it first"
  mkdir -p "$KILN_LOG_DIR" "$KILN_PID_DIR" || kiln_fail "cannot create $KILN_LOG_DIR or $KILN_PID_DIR"
  local log="$KILN_LOG_DIR/kiln-$KILN_IDENT_STRING-$name-$(hostname).out"
  local ready="$KILN_PID_DIR/kiln-$KILN_IDENT_STRING-$name.ready"
  local pid_file
  pid_file=$(kiln_pid_file "$name")
  rm -f "$ready"
  echo "$(date '+%F %T') starting: $kiln_bin/$program $*" >>"$log"
  nohup "$kiln_bin/$program" "$@" --ready-file "$ready" >>"$log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$pid_file"
  local deadline=$((SECONDS + ${KILN_START_TIMEOUT:-60}))
  until [ -s "$ready" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$pid_file"
      echo "$(basename "$0"): $name exited during start-up; the end of $log:" >&2
      tail -n 5 "$log" >&2
      exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "$(basename "$0"): $name (process $pid) is not ready after ${KILN_START_TIMEOUT:-60}s; it goes on; see $log" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "started $name as process $pid; ports: $(paste -sd " " "$ready"); log: $log"
}

# kiln_stop NAME: SIGTERM to the daemon of NAME's pid file, SIGKILL after
# $KILN_STOP_TIMEOUT seconds; succeeds when there is none.
kiln_stop() {
  local name=$1 pid
  pid=$(kiln_running_pid "$name")
  if [ -z "$pid" ]; then
    echo "no $name to stop"
    rm -f "$(kiln_pid_file "$name")"
    return 0
  fi
  kill -TERM "$pid"
  local deadline=$((SECONDS + ${KILN_STOP_TIMEOUT:-30}))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "$name (process $pid) did not stop within ${KILN_STOP_TIMEOUT:-30}s: killing it"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
  done
  rm -f "$(kiln_pid_file "$name")"
  echo "stopped $name (process $pid)"
}
