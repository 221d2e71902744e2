#!/bin/sh
# One-shot, before Redis and the app (compose.yaml's redis-secrets): writes the stack's secrets
# into /secrets, on the redis_secrets volume that Redis and the app mount read-only:
#   redis_password  the password of Redis's `counter` user (Redis and the app)
#   admin_token     the token of the operator's dashboard (the app: /dashboard)
#   replication_password, sentinel_password   the HA users' (compose.ha.yaml, docs/redis-ha.md):
#                   replicas log into their master as `replication`, sentinels into the nodes
#                   and each other as `sentinel`; always random (no operator's file)
# For each:
#   - the operator's own file set (REDIS_PASSWORD_FILE, ADMIN_TOKEN_FILE; mounted here as
#     /run/secrets/own_<name>, non-empty): that file, copied at every start, so a changed file
#     takes effect with the next `up`;
#   - otherwise: a random secret (32 bytes of /dev/urandom, hex) made on the first start and kept
#     from then on (a secret copied from an operator's file is replaced by a random one).
set -eu

dir=/secrets

write_secret() { # name, what it is
  own="/run/secrets/own_$1"
  target="$dir/$1"
  source="$dir/$1.source"
  new="$dir/.$1.new"
  if [ -s "$own" ]; then
    cat "$own" > "$new"
    echo own > "$source.new"
    what="the $2 from its own file"
  elif [ -s "$target" ] && [ "$(cat "$source" 2>/dev/null)" = random ]; then
    echo "redis-secrets: keeping the random $2 made on the first start"
    return 0
  else
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$new"
    echo random > "$source.new"
    what="a new random $2"
  fi
  [ -s "$new" ] || { echo "redis-secrets: no $2 written" >&2; exit 1; }
  # Readable by Redis's and the app's users (different uids); only their containers mount it.
  chmod 0444 "$new"
  mv "$new" "$target"
  mv "$source.new" "$source"
  echo "redis-secrets: wrote $what"
}

write_secret redis_password "Redis password"
write_secret admin_token "admin token"
write_secret replication_password "replication password"
write_secret sentinel_password "sentinel password"
