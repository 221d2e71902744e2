#!/bin/sh
# One-shot, before Redis and the app (compose.yaml's redis-secrets): puts the password of Redis's
# `counter` user into /secrets/redis_password, on the redis_secrets volume that Redis and the app
# mount read-only.
#   - REDIS_PASSWORD_FILE set (mounted here as /run/secrets/own_redis_password, non-empty): that
#     file, copied at every start, so a changed file takes effect with the next `up`;
#   - otherwise: a random password (32 bytes of /dev/urandom, hex) made on the first start and
#     kept from then on (a password copied from an operator's file is replaced by a random one).
set -eu

own=/run/secrets/own_redis_password
dir=/secrets
password="$dir/redis_password"
source="$dir/redis_password.source"
new="$dir/.redis_password.new"

if [ -s "$own" ]; then
  cat "$own" > "$new"
  echo own > "$source.new"
  what="the password from REDIS_PASSWORD_FILE"
elif [ -s "$password" ] && [ "$(cat "$source" 2>/dev/null)" = random ]; then
  echo "redis-secrets: keeping the random Redis password made on the first start"
  exit 0
else
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$new"
  echo random > "$source.new"
  what="a new random Redis password"
fi
[ -s "$new" ] || { echo "redis-secrets: no password written" >&2; exit 1; }
# Readable by Redis's and the app's users (different uids); only their containers mount it.
chmod 0444 "$new"
mv "$new" "$password"
mv "$source.new" "$source"
echo "redis-secrets: wrote $what"
