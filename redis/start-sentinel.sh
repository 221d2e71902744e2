#!/bin/sh
# Starts a Redis Sentinel that watches the visit counter's master and fails it over to a replica
# (docs/redis-ha.md). Its configuration is written here, from the environment, into
# SENTINEL_DIR/sentinel.conf: Sentinel rewrites that file as it learns (the current master, its
# replicas, the other sentinels, the epochs), so the file is kept from one start to the next and
# only the users and passwords are written anew each time. The integration tests run this same
# script on the host.
#   SENTINEL_MONITOR="ip port"   the master at the first start (an address, not a host name: see
#                                docs/redis-ha.md, a sentinel resolving a vanished name stalls;
#                                a host name only with SENTINEL_HOSTNAMES=yes)
#   SENTINEL_HOSTNAMES           yes: nodes and sentinels are known by host name (resolve-hostnames
#                                and announce-hostnames; Kubernetes' stable pod names, whose pods
#                                change address), default no
#   SENTINEL_MASTER_NAME         what the app asks for (REDIS_SENTINEL_MASTER), default counter
#   SENTINEL_QUORUM              sentinels that must agree the master is down (default 2 of 3)
#   SENTINEL_DOWN_AFTER_MS       silence after which a sentinel thinks a node down (default 5000)
#   SENTINEL_FAILOVER_TIMEOUT_MS default 30000
#   REDIS_SENTINEL_PASSWORD_FILE the `sentinel` user's password, on the Redis nodes and among the
#                                sentinels
#   REDIS_PASSWORD_FILE          the app's `counter` user's password: the app asks the sentinels
#                                where the master is as the same user, which may only ask
#   SENTINEL_PORT (26379), SENTINEL_BIND, SENTINEL_DIR (/data), SENTINEL_ANNOUNCE_IP (optional; a
#   host name with SENTINEL_HOSTNAMES=yes)
set -eu

fail() { echo "start-sentinel: $*" >&2; exit 78; }
. "$(dirname "$0")/secret-files.sh"
number() { # variable value
  case "$2" in ''|*[!0-9]*) fail "$1 must be a whole number (got \"$2\")" ;; esac
}

name="${SENTINEL_MASTER_NAME:-counter}"
case "$name" in ''|*[!A-Za-z0-9._-]*) fail "SENTINEL_MASTER_NAME must be letters, digits, dots, dashes or underscores (got \"$name\")" ;; esac
hostnames="${SENTINEL_HOSTNAMES:-no}"
case "$hostnames" in yes|no) ;; *) fail "SENTINEL_HOSTNAMES must be yes or no (got \"$hostnames\")" ;; esac
monitor="${SENTINEL_MONITOR:-}"
# An address; with SENTINEL_HOSTNAMES=yes a host name too (letters and dashes).
address_chars='0-9A-Fa-f.:'
[ "$hostnames" = no ] || address_chars='0-9A-Za-z.:-'
case "$monitor" in
  *[!\ $address_chars]*|*' '*' '*|' '*|*' '|*' '*[!0-9]*|'') fail "SENTINEL_MONITOR must be \"ip port\" (got \"$monitor\")" ;;
  *' '*) ;;
  *) fail "SENTINEL_MONITOR must be \"ip port\" (got \"$monitor\")" ;;
esac
quorum="${SENTINEL_QUORUM:-2}"; number SENTINEL_QUORUM "$quorum"
down_after="${SENTINEL_DOWN_AFTER_MS:-5000}"; number SENTINEL_DOWN_AFTER_MS "$down_after"
failover_timeout="${SENTINEL_FAILOVER_TIMEOUT_MS:-30000}"; number SENTINEL_FAILOVER_TIMEOUT_MS "$failover_timeout"
port="${SENTINEL_PORT:-26379}"; number SENTINEL_PORT "$port"
dir="${SENTINEL_DIR:-/data}"
sentinel_password=$(secret REDIS_SENTINEL_PASSWORD_FILE "${REDIS_SENTINEL_PASSWORD_FILE:-/secrets/sentinel_password}") || exit 78
counter_password=$(secret REDIS_PASSWORD_FILE "${REDIS_PASSWORD_FILE:-/secrets/redis_password}") || exit 78

conf="$dir/sentinel.conf"
if [ ! -s "$conf" ]; then
  # First start: what to watch. Later starts keep what this sentinel learnt since.
  cat > "$conf" <<CONF
sentinel monitor $name $monitor $quorum
sentinel down-after-milliseconds $name $down_after
sentinel failover-timeout $name $failover_timeout
sentinel parallel-syncs $name 1
CONF
fi
# Users and passwords anew at every start (a changed secret takes effect), after whatever
# Sentinel wrote; the lines below are the only ones this script owns.
kept=$(grep -Ev '^(user |requirepass |port |bind |dir |protected-mode |sentinel (auth-user|auth-pass|sentinel-user|sentinel-pass|announce-ip|resolve-hostnames|announce-hostnames) )' "$conf" || true)
# The sentinels log into each other as `sentinel`; the app logs in as `counter`, which may only
# ask where the master and the other sentinels are and listen to the failover events.
cat > "$conf.new" <<CONF
port $port
${SENTINEL_BIND:+bind $SENTINEL_BIND}
protected-mode no
dir $dir
sentinel resolve-hostnames $hostnames
sentinel announce-hostnames $hostnames
${SENTINEL_ANNOUNCE_IP:+sentinel announce-ip $SENTINEL_ANNOUNCE_IP}
user default off resetpass
user sentinel on #$(sha256 "$sentinel_password") ~* &* +@all
user counter on #$(sha256 "$counter_password") resetchannels &* -@all +auth +hello +ping +psubscribe +punsubscribe +subscribe +unsubscribe +sentinel|get-master-addr-by-name +sentinel|master +sentinel|sentinels +sentinel|replicas +sentinel|slaves
sentinel sentinel-user sentinel
sentinel sentinel-pass $sentinel_password
$kept
sentinel auth-user $name sentinel
sentinel auth-pass $name $sentinel_password
CONF
mv "$conf.new" "$conf"
exec redis-server "$conf" --sentinel
