#!/bin/sh
# Starts redis-server with the committed redis.conf plus what comes from the environment: the
# app user's password (from a secret file) and the fsync policy. The settings reach Redis on
# stdin, never on argv, so they do not show in `ps`; the password only as its SHA-256.
set -eu

fail() { echo "start-redis: $*" >&2; exit 78; }

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

rules=$(grep -v '^#' /usr/local/etc/redis/counter-user.acl | grep . | tail -n 1)

# A here-document, not a pipe: in a pipeline `exec` only replaces a subshell, which left this
# shell as PID 1; it ignores SIGTERM, so `docker stop` waited 10 s and then SIGKILLed Redis.
exec redis-server /usr/local/etc/redis/redis.conf - <<CONF
user default off
user counter on #$hash $rules
appendfsync $fsync
CONF
