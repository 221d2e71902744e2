#!/bin/sh
# A planned failover that loses no acknowledged write (docs/redis-ha.md). A bare SENTINEL FAILOVER
# promotes a replica while the old master still takes writes, for about a second, that the old
# master then throws away when it becomes a replica. So first the master stops taking writes
# (CLIENT PAUSE WRITE: they wait, and the app answers 503 after REDIS_TIMEOUT_MS), then, once every
# replica has everything, the sentinels promote one. Clients follow the sentinels to the new master;
# the old one stays paused until the sentinels have made it a replica.
#   docker compose -f compose.yaml -f compose.ha.yaml exec sentinel-1 planned-failover.sh
# Settings as start-sentinel.sh's: SENTINEL_PORT (26379), SENTINEL_MASTER_NAME (counter),
# REDIS_SENTINEL_PASSWORD_FILE; FAILOVER_PAUSE_MS (10000) bounds the pause.
set -eu

fail() { echo "planned-failover: $*" >&2; exit 1; }
name="${SENTINEL_MASTER_NAME:-counter}"
port="${SENTINEL_PORT:-26379}"
pause_ms="${FAILOVER_PAUSE_MS:-10000}"
REDISCLI_AUTH=$(sed 's/\r$//' "${REDIS_SENTINEL_PASSWORD_FILE:-/secrets/sentinel_password}")
export REDISCLI_AUTH
sentinel() { redis-cli -h 127.0.0.1 -p "$port" --user sentinel --no-auth-warning "$@"; }

address=$(sentinel SENTINEL GET-MASTER-ADDR-BY-NAME "$name") || fail "no answer from the sentinel on port $port"
host=$(echo "$address" | sed -n 1p)
master_port=$(echo "$address" | sed -n 2p)
[ -n "$host" ] && [ -n "$master_port" ] || fail "the sentinel knows no master named $name"
master() { redis-cli -h "$host" -p "$master_port" --user sentinel --no-auth-warning "$@"; }

[ "$(master CLIENT PAUSE "$pause_ms" WRITE)" = OK ] || fail "CLIENT PAUSE refused by the master $host:$master_port"
# Every replica at the master's offset: nothing acknowledged is missing from any of them.
tries=0
until master INFO replication | tr -d '\r' | awk -F'[:,=]' '
    /^master_repl_offset:/ { offset = $2 }
    /^slave[0-9]+:/ { for (i = 1; i < NF; i++) if ($i == "offset") replica[++n] = $(i + 1) }
    END { if (n == 0) exit 1; for (i = 1; i <= n; i++) if (replica[i] != offset) exit 1 }'; do
  tries=$((tries + 1))
  [ "$tries" -lt 50 ] || { master CLIENT UNPAUSE >/dev/null; fail "the replicas did not catch up within 5 s; unpaused, no failover"; }
  sleep 0.1
done
[ "$(sentinel SENTINEL FAILOVER "$name")" = OK ] || { master CLIENT UNPAUSE >/dev/null; fail "SENTINEL FAILOVER refused; unpaused"; }
echo "planned-failover: $host:$master_port paused and caught up; the sentinels are promoting a replica"
