#!/bin/sh
# Starts redis-server with the committed redis.conf plus what comes from the environment: the
# app user's password (from a secret file), the fsync policy, where to listen and write. The
# settings reach Redis on stdin, never on argv, so they do not show in `ps`; the password only
# as its SHA-256. The integration tests run this same script on the host.
set -eu

fail() { echo "start-redis: $*" >&2; exit 78; }

conf_dir="${REDIS_CONF_DIR:-/usr/local/etc/redis}"
password_file="${REDIS_PASSWORD_FILE:-/run/secrets/redis_password}"
[ -r "$password_file" ] || fail "REDIS_PASSWORD_FILE cannot be read ($password_file)"
# A trailing newline belongs to the file, not to the password (the app reads it the same way).
password=$(cat "$password_file")
[ -n "$password" ] || fail "REDIS_PASSWORD_FILE is empty ($password_file)"
hash=$(printf '%s' "$password" | sha256sum | cut -d ' ' -f 1)

fsync="${REDIS_APPENDFSYNC:-everysec}"
case "$fsync" in
  always|everysec|no) ;;
  *) fail "REDIS_APPENDFSYNC must be always, everysec or no (got \"$fsync\")" ;;
esac
port="${REDIS_PORT:-6379}"
case "$port" in
  ''|*[!0-9]*) fail "REDIS_PORT must be a port number (got \"$port\")" ;;
esac

rules=$(grep -v '^#' "$conf_dir/counter-user.acl" | grep . | tail -n 1) || fail "no rules in $conf_dir/counter-user.acl"

# The default user: nobody can log in as it (off, no password), but it keeps every permission.
# Redis replays MULTI/EXEC blocks from the append-only file (a Lua script's writes are logged
# that way) with the default user's permissions re-checked at EXEC; a default user without them
# silently drops those writes at every restart, losing counts.
#
# A here-document, not a pipe: in a pipeline `exec` only replaces a subshell, which left this
# shell as PID 1; it ignores SIGTERM, so `docker stop` waited 10 s and then SIGKILLed Redis.
exec redis-server "$conf_dir/redis.conf" - <<CONF
dir ${REDIS_DATA_DIR:-/data}
port $port
${REDIS_BIND:+bind $REDIS_BIND}
user default off resetpass ~* &* +@all
user counter on #$hash $rules
appendfsync $fsync
CONF
