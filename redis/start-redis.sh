#!/bin/sh
# Starts redis-server with the committed redis.conf plus the settings that come from the
# environment. Secrets go in through stdin, not argv, so they never show in `ps`.
set -eu

if [ -z "${REDIS_PASSWORD:-}" ]; then
  echo "start-redis: REDIS_PASSWORD must be set (Redis is never run without a password)" >&2
  exit 78
fi
fsync="${REDIS_APPENDFSYNC:-everysec}"
case "$fsync" in
  always|everysec|no) ;;
  *) echo "start-redis: REDIS_APPENDFSYNC must be always, everysec or no (got \"$fsync\")" >&2; exit 78 ;;
esac

# Quote for redis.conf: backslashes and double quotes escaped inside double quotes.
quoted=$(printf '%s' "$REDIS_PASSWORD" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')
# A here-document, not a pipe: in a pipeline `exec` only replaces a subshell, which left this
# shell as PID 1; it ignores SIGTERM, so `docker stop` waited 10 s and then SIGKILLed Redis.
exec redis-server /usr/local/etc/redis/redis.conf - <<EOF
requirepass "$quoted"
appendfsync $fsync
EOF
