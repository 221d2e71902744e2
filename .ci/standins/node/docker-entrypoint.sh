#!/bin/sh
# Entrypoint of the local node:24-slim stand-in, with the official image's
# behaviour: `docker run IMAGE server.js` or `docker run IMAGE --version` runs
# node with those arguments; any command found on PATH runs as given.
set -e

if [ "${1#-}" != "$1" ] || [ -z "$(command -v "$1" || true)" ] \
   || { [ -f "$1" ] && ! [ -x "$1" ]; }; then
    set -- node "$@"
fi

exec "$@"
