#!/bin/sh
# Starts redis-server with the committed redis.conf plus what comes from the environment: the
# app user's password (from a secret file), the fsync policy, the memory bound, where to listen
# and write, and for Sentinel HA (docs/redis-ha.md) whose replica it is and the users replication
# and the sentinels log in as. The settings reach Redis on stdin, never on argv, so they do not show in `ps`; the password only
# as its SHA-256. Then loads the counting service's functions (functions/counter.lua) and moves a
# first-release count into the new layout. The integration tests run this same script on the host.
set -eu

fail() { echo "start-redis: $*" >&2; exit 78; }
. "$(dirname "$0")/secret-files.sh"

conf_dir="${REDIS_CONF_DIR:-/usr/local/etc/redis}"
# (fail inside $(...) ends only the subshell, hence the `|| exit`.)
password=$(secret REDIS_PASSWORD_FILE "${REDIS_PASSWORD_FILE:-/secrets/redis_password}") || exit 78
hash=$(sha256 "$password")

fsync="${REDIS_APPENDFSYNC:-everysec}"
case "$fsync" in
  always|everysec|no) ;;
  *) fail "REDIS_APPENDFSYNC must be always, everysec or no (got \"$fsync\")" ;;
esac
# Redis's own size syntax: bytes, or a number with kb, mb or gb; 0 is no limit.
maxmemory="${REDIS_MAXMEMORY:-400mb}"
case "${maxmemory%[kKmMgG][bB]}" in
  ''|*[!0-9]*) fail "REDIS_MAXMEMORY must be a size such as 400mb (got \"$maxmemory\")" ;;
esac
port="${REDIS_PORT:-6379}"
case "$port" in
  ''|*[!0-9]*) fail "REDIS_PORT must be a port number (got \"$port\")" ;;
esac

# Optional: an `admin` user with every permission, for operators (INFO, CONFIG GET, backups) and
# the tests, when REDIS_ADMIN_PASSWORD_FILE names a secret file. Without it there is none.
admin=""
if [ -n "${REDIS_ADMIN_PASSWORD_FILE:-}" ]; then
  admin_password=$(secret REDIS_ADMIN_PASSWORD_FILE "$REDIS_ADMIN_PASSWORD_FILE") || exit 78
  admin="user admin on #$(sha256 "$admin_password") ~* &* +@all"
fi

# Sentinel HA (all optional; see docs/redis-ha.md):
#   REDIS_REPLICA_OF="host port"       start as a replica of that master (it gets the functions
#                                      with the data, so they are loaded on the master only);
#   REDIS_REPLICATION_PASSWORD_FILE    a `replication` user that may only replicate (PSYNC,
#                                      REPLCONF, PING), and this node logs into its master as it;
#   REDIS_SENTINEL_PASSWORD_FILE       a `sentinel` user with the commands Sentinel needs to
#                                      watch a node and fail it over, nothing else;
#   REDIS_MIN_REPLICAS_TO_WRITE / REDIS_MIN_REPLICAS_MAX_LAG   a master refuses writes (NOREPLICAS)
#                                      unless that many replicas acknowledged within that many
#                                      seconds: a master cut off from its replicas stops counting;
#   REDIS_ANNOUNCE_HOSTNAME            the name this node gives its master (and so the sentinels) to
#                                      reach it by (replica-announce-ip), for sentinels that know
#                                      nodes by host name (Kubernetes' stable pod names).
ha=""
announce="${REDIS_ANNOUNCE_HOSTNAME:-}"
case "$announce" in
  *[!A-Za-z0-9.-]*) fail "REDIS_ANNOUNCE_HOSTNAME must be a host name (got \"$announce\")" ;;
  ?*) ha="replica-announce-ip $announce" ;;
esac
replica_of="${REDIS_REPLICA_OF:-}"
if [ -n "$replica_of" ]; then
  case "$replica_of" in
    *[!A-Za-z0-9.:\ -]*|*' '*' '*|' '*|*' '|*' '*[!0-9]*) fail "REDIS_REPLICA_OF must be \"host port\" (got \"$replica_of\")" ;;
    *' '*) ;;
    *) fail "REDIS_REPLICA_OF must be \"host port\" (got \"$replica_of\")" ;;
  esac
  ha="$ha
replicaof $replica_of"
fi
if [ -n "${REDIS_REPLICATION_PASSWORD_FILE:-}" ]; then
  replication_password=$(secret REDIS_REPLICATION_PASSWORD_FILE "$REDIS_REPLICATION_PASSWORD_FILE") || exit 78
  # masterauth in clear: Redis needs it to log in; it reaches Redis on stdin, not argv.
  ha="$ha
user replication on #$(sha256 "$replication_password") resetchannels resetkeys -@all +psync +replconf +ping
masteruser replication
masterauth $replication_password"
fi
if [ -n "${REDIS_SENTINEL_PASSWORD_FILE:-}" ]; then
  sentinel_password=$(secret REDIS_SENTINEL_PASSWORD_FILE "$REDIS_SENTINEL_PASSWORD_FILE") || exit 78
  # The commands Sentinel sends to a node (Redis's Sentinel documentation, "Redis access control
  # list authentication"), and its hello channel; CLIENT PAUSE for planned-failover.sh.
  ha="$ha
user sentinel on #$(sha256 "$sentinel_password") resetchannels &__sentinel__:hello -@all +multi +exec +slaveof +replicaof +ping +subscribe +publish +config|rewrite +role +info +client|setname +client|kill +script|kill +client|pause +client|unpause"
fi
min_replicas="${REDIS_MIN_REPLICAS_TO_WRITE:-0}"
max_lag="${REDIS_MIN_REPLICAS_MAX_LAG:-10}"
case "$min_replicas$max_lag" in
  *[!0-9]*) fail "REDIS_MIN_REPLICAS_TO_WRITE and REDIS_MIN_REPLICAS_MAX_LAG must be whole numbers (got \"$min_replicas\", \"$max_lag\")" ;;
esac

# Redis Cluster (REDIS_CLUSTER=yes): this node joins a cluster that `redis-cli --cluster create`
# forms (docs/redis-cluster.md). Its layout goes to nodes.conf beside the data; replicas
# authenticate to their master as the `replication` user (the default user is off).
cluster=""
case "${REDIS_CLUSTER:-no}" in
  no) ;;
  yes)
    # The `replication` user (above when REDIS_REPLICATION_PASSWORD_FILE is set; else from the
    # default file): replicas of a Cluster log into their master too.
    if [ -z "${replication_password:-}" ]; then
      replication_password=$(secret REDIS_REPLICATION_PASSWORD_FILE /secrets/redis_replication_password) || exit 78
      ha="$ha
user replication on #$(sha256 "$replication_password") resetchannels resetkeys -@all +psync +replconf +ping
masteruser replication
masterauth $replication_password"
    fi
    node_timeout="${REDIS_CLUSTER_NODE_TIMEOUT:-5000}"
    case "$node_timeout" in
      ''|*[!0-9]*) fail "REDIS_CLUSTER_NODE_TIMEOUT must be milliseconds (got \"$node_timeout\")" ;;
    esac
    bus_port="${REDIS_CLUSTER_BUS_PORT:-$((port + 10000))}"
    case "$bus_port" in
      ''|*[!0-9]*) fail "REDIS_CLUSTER_BUS_PORT must be a port number (got \"$bus_port\")" ;;
    esac
    # What other nodes and the clients are told to reach this node at, when not the address it
    # sees itself (containers behind NAT, Kubernetes pods): an IP, or a hostname with the port.
    cluster="cluster-enabled yes
cluster-config-file nodes.conf
cluster-node-timeout $node_timeout
cluster-port $bus_port
${REDIS_CLUSTER_ANNOUNCE_IP:+cluster-announce-ip $REDIS_CLUSTER_ANNOUNCE_IP}
${REDIS_CLUSTER_ANNOUNCE_HOSTNAME:+cluster-announce-hostname $REDIS_CLUSTER_ANNOUNCE_HOSTNAME}
${REDIS_CLUSTER_ANNOUNCE_HOSTNAME:+cluster-preferred-endpoint-type hostname}"
    ;;
  *) fail "REDIS_CLUSTER must be yes or no (got \"${REDIS_CLUSTER}\")" ;;
esac

rules=$(grep -v '^#' "$conf_dir/counter-user.acl" | grep . | tail -n 1) || fail "no rules in $conf_dir/counter-user.acl"
[ -r "$conf_dir/functions/counter.lua" ] || fail "no functions in $conf_dir/functions/counter.lua"

# The functions are loaded by a `loader` user whose password is made here, lives only in this
# shell and Redis's memory (as a hash), and changes at every start: the app's user cannot load
# or replace functions, and nothing on disk can.
loader_password=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
loader_hash=$(sha256 "$loader_password")

load_functions() {
  # A replica gets the functions from its master, and refuses FUNCTION LOAD.
  [ -z "$replica_of" ] || return 0
  export REDISCLI_AUTH="$loader_password"
  cli() { redis-cli -p "$port" --user loader --no-auth-warning "$@"; }
  # Loading the append-only file of a large data set takes a while: wait as long as Redis runs
  # (it is this script's own process, $$, once exec'd below).
  until [ "$(cli ping 2>/dev/null)" = PONG ]; do
    kill -0 $$ 2>/dev/null || return 1
    sleep 0.1
  done
  loaded=$(cli -x FUNCTION LOAD REPLACE < "$conf_dir/functions/counter.lua" 2>&1) || true
  if [ "$loaded" != counter ]; then
    # A Cluster replica refuses writes; it has its master's functions (they replicate), and a
    # failover to it keeps them.
    case "$cluster$loaded" in
      cluster-enabled*READONLY*) echo "start-redis: a replica: the counter functions come from its master"; return 0 ;;
    esac
    echo "start-redis: FUNCTION LOAD failed: $loaded" >&2
    return 1
  fi
  fsync_in_effect=$(cli CONFIG GET appendfsync | tail -n 1)
  if [ -z "$cluster" ]; then
    moved=$(cli FCALL counter_migrate_legacy 2 visits 'c:{default/visits}' "$(date +%s)000")
    [ "$moved" = 0 ] || echo "start-redis: moved the first release's count ($moved) into the counter default/visits"
    # The fsync policy in effect, for the operator's dashboard (the app may not run CONFIG).
    cli HSET '{instance}:config' appendfsync "$fsync_in_effect" >/dev/null
  else
    # In a Cluster the first release's key and its counter live in different slots (a cluster
    # starts empty: nothing to move), and {instance}:config lives on one master: set where that
    # master is this node (a restart); elsewhere, and before the cluster is formed, refused.
    cli HSET '{instance}:config' appendfsync "$fsync_in_effect" >/dev/null 2>&1 || true
  fi
  echo "start-redis: counter functions loaded"
  # Only now may the master refuse writes without replicas: these writes come before any replica.
  if [ "$min_replicas" != 0 ]; then
    [ "$(cli CONFIG SET min-replicas-to-write "$min_replicas")" = OK ] || { echo "start-redis: CONFIG SET min-replicas-to-write failed" >&2; return 1; }
  fi
}
# In the background, so that redis-server below can be PID 1 (see the note on exec).
load_functions </dev/null &

# The default user: nobody can log in as it (off, no password), but it keeps every permission.
# Redis replays MULTI/EXEC blocks from the append-only file (a function's writes are logged
# that way) with the default user's permissions re-checked at EXEC; a default user without them
# silently drops those writes at every restart, losing counts.
#
# A here-document, not a pipe: in a pipeline `exec` only replaces a subshell, which left this
# shell as PID 1; it ignores SIGTERM, so `docker stop` waited 10 s and then SIGKILLed Redis.
#
# Redis runs from a copy of redis.conf in its data folder, made anew at every start: CONFIG
# REWRITE (which Sentinel sends with every failover) rewrites the file Redis started from, and
# the committed one (read-only in the image) must stay as it is.
data_dir="${REDIS_DATA_DIR:-/data}"
cp "$conf_dir/redis.conf" "$data_dir/redis-running.conf"
exec redis-server "$data_dir/redis-running.conf" - <<CONF
dir $data_dir
port $port
${REDIS_BIND:+bind $REDIS_BIND}
user default off resetpass ~* &* +@all
user counter on #$hash $rules
user loader on #$loader_hash resetchannels resetkeys ~visits ~c:{default/visits} ~{instance}:config -@all +ping +function|load +fcall +get +hincrby +hexists +del +hset +config|get +config|set
$admin
$cluster
appendfsync $fsync
maxmemory $maxmemory
min-replicas-to-write $([ -n "$replica_of" ] && echo "$min_replicas" || echo 0)
min-replicas-max-lag $max_lag
$ha
CONF
