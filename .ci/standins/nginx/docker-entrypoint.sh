#!/bin/sh
# Entrypoint of the local nginx:1.30 stand-in, with the official image's
# behaviour: when the command is nginx, run the configuration steps in
# /docker-entrypoint.d/ in version order first: *.envsh files are sourced (so
# what they export reaches nginx and the later steps), *.sh files are run.
# NGINX_ENTRYPOINT_QUIET_LOGS=1 silences this script's own messages.
set -e

entrypoint_log() {
    if [ -z "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ]; then
        echo "$@"
    fi
}

if [ "$1" = "nginx" ] || [ "$1" = "nginx-debug" ]; then
    if find /docker-entrypoint.d/ -mindepth 1 -maxdepth 1 -type f -print -quit 2>/dev/null | read -r _; then
        entrypoint_log "$0: /docker-entrypoint.d/ is not empty, will attempt to perform configuration"
        entrypoint_log "$0: Looking for shell scripts in /docker-entrypoint.d/"
        # a here-document, not a pipe, so that sourced files change this shell
        steps=$(find /docker-entrypoint.d/ -follow -type f -print | sort -V)
        while read -r f; do
            [ -n "$f" ] || continue
            case "$f" in
                *.envsh)
                    if [ -x "$f" ]; then
                        entrypoint_log "$0: Sourcing $f"
                        # shellcheck disable=SC1090
                        . "$f"
                    else
                        entrypoint_log "$0: Ignoring $f, not executable"
                    fi
                    ;;
                *.sh)
                    if [ -x "$f" ]; then
                        entrypoint_log "$0: Launching $f"
                        "$f"
                    else
                        entrypoint_log "$0: Ignoring $f, not executable"
                    fi
                    ;;
                *) entrypoint_log "$0: Ignoring $f" ;;
            esac
        done <<STEPS
$steps
STEPS
        entrypoint_log "$0: Configuration complete; ready for start up"
    else
        entrypoint_log "$0: No files found in /docker-entrypoint.d/, skipping configuration"
    fi
fi

exec "$@"
