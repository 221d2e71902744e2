#!/bin/sh
# Adds `listen [::]:80;` to the image's own /etc/nginx/conf.d/default.conf when
# the container has IPv6 and that file is still the one the image shipped.
set -e

ME=$(basename "$0")
DEFAULT_CONF_FILE=/etc/nginx/conf.d/default.conf

entrypoint_log() {
    if [ -z "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ]; then
        echo "$@"
    fi
}

if [ ! -f /proc/net/if_inet6 ]; then
    entrypoint_log "$ME: info: ipv6 not available"
    exit 0
fi
if [ ! -f "$DEFAULT_CONF_FILE" ]; then
    entrypoint_log "$ME: info: $DEFAULT_CONF_FILE is not a file or does not exist"
    exit 0
fi
if ! touch "$DEFAULT_CONF_FILE" 2>/dev/null; then
    entrypoint_log "$ME: info: can not modify $DEFAULT_CONF_FILE (read-only file system?)"
    exit 0
fi
if grep -q 'listen  \[::\]:80;' "$DEFAULT_CONF_FILE"; then
    entrypoint_log "$ME: info: IPv6 listen already enabled"
    exit 0
fi
entrypoint_log "$ME: info: Getting the checksum of $DEFAULT_CONF_FILE"
if ! sha256sum -c --status /usr/share/nginx-standin/default.conf.sha256 2>/dev/null; then
    entrypoint_log "$ME: info: $DEFAULT_CONF_FILE differs from the image's version"
    exit 0
fi

sed -i -E 's,listen       80;,listen       80;\n    listen  [::]:80;,' "$DEFAULT_CONF_FILE"
entrypoint_log "$ME: info: Enabled listen on IPv6 in $DEFAULT_CONF_FILE"
exit 0
