#!/bin/sh
# Entrypoint of the local redis:8 stand-in, with the official image's behaviour:
# - `docker run IMAGE --appendonly yes` or `docker run IMAGE /path/redis.conf`
#   starts redis-server with those arguments;
# - started as root, it hands files in the working directory (/data) that
#   others own to the redis user, then runs again as redis (setpriv);
# - protected mode is off unless asked for (the official binary is compiled
#   that way; Debian's is not, so here it is passed as an option);
# - a default umask of 0022 becomes 0077.
set -e

if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
    set -- redis-server "$@"
fi

has_cap() {
    setpriv -d | grep -q "Capability bounding set:.*\b$1\b"
}

if [ "$1" = 'redis-server' ] && [ "$(id -u)" = '0' ] && [ -z "${SKIP_DROP_PRIVS:-}" ] \
   && has_cap setuid && has_cap setgid; then
    if [ -z "${SKIP_FIX_PERMS:-}" ]; then
        find . \! -user redis -exec chown redis '{}' + || true
    fi
    exec setpriv --reuid=redis --regid=redis --clear-groups "$0" "$@"
fi

if [ "$1" = 'redis-server' ]; then
    protected_default=yes
    # An explicit --protected-mode option wins ...
    for arg in "$@"; do
        if [ "$arg" = '--protected-mode' ]; then protected_default=; fi
    done
    # ... and so does a protected-mode line in the config file given first.
    case "${2:-}" in
        ''|-*) ;;
        *) if [ -f "$2" ] && grep -qiE '^[[:space:]]*protected-mode[[:space:]]' "$2"; then
               protected_default=
           fi ;;
    esac
    if [ -n "$protected_default" ]; then
        set -- "$@" --protected-mode no
    fi
fi

if [ "$(umask)" = '0022' ]; then
    umask 0077
fi

exec "$@"
