#!/bin/sh
# The official docker image's client entrypoint: `docker-entrypoint.sh ARGS` runs `docker ARGS`
# when ARGS start with an option or are not a command; DOCKER_HOST follows DOCKER_TLS_CERTDIR.
set -eu
if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then set -- docker "$@"; fi
if [ "${1:-}" != docker ] && docker help "$1" >/dev/null 2>&1; then set -- docker "$@"; fi
exec "$@"
