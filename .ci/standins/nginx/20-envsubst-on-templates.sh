#!/bin/sh
# Renders templates into nginx configuration, as the official image does:
#   $NGINX_ENVSUBST_TEMPLATE_DIR (/etc/nginx/templates)/**/*$NGINX_ENVSUBST_TEMPLATE_SUFFIX (.template)
#     -> $NGINX_ENVSUBST_OUTPUT_DIR (/etc/nginx/conf.d)/** without the suffix;
#   *$NGINX_ENVSUBST_STREAM_TEMPLATE_SUFFIX (.stream-template)
#     -> $NGINX_ENVSUBST_STREAM_OUTPUT_DIR (/etc/nginx/stream-conf.d), included
#        from a stream block appended to nginx.conf when it has none.
# Only variables defined in the environment are substituted (names matching
# the regular expression $NGINX_ENVSUBST_FILTER, if set); nginx's own
# variables such as $host stay as they are.
set -e

ME=$(basename "$0")

entrypoint_log() {
    if [ -z "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ]; then
        echo "$@"
    fi
}

add_stream_block() {
    conffile=/etc/nginx/nginx.conf
    if grep -q -E '\s*stream\s*\{' "$conffile"; then
        entrypoint_log "$ME: $conffile contains a stream block; include $stream_output_dir/*.conf to enable stream templates"
    else
        touch "$conffile" 2>/dev/null || { entrypoint_log "$ME: info: can not modify $conffile (read-only file system?)"; exit 0; }
        entrypoint_log "$ME: Appending stream block to $conffile to include $stream_output_dir/*.conf"
        cat >> "$conffile" <<END
# added by "$ME" on "$(date)"
stream {
  include $stream_output_dir/*.conf;
}
END
    fi
}

render() { # render SUFFIX OUTPUT_DIR
    find "$template_dir" -follow -type f -name "*$1" -print | while read -r template; do
        relative_path=${template#"$template_dir/"}
        output_path="$2/${relative_path%"$1"}"
        mkdir -p "$(dirname "$output_path")"
        entrypoint_log "$ME: Running envsubst on $template to $output_path"
        envsubst "$defined_envs" < "$template" > "$output_path"
    done
}

template_dir=${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}
suffix=${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}
output_dir=${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}
stream_suffix=${NGINX_ENVSUBST_STREAM_TEMPLATE_SUFFIX:-.stream-template}
stream_output_dir=${NGINX_ENVSUBST_STREAM_OUTPUT_DIR:-/etc/nginx/stream-conf.d}
filter=${NGINX_ENVSUBST_FILTER:-}

# "${A} ${B} ..." for every defined variable: envsubst leaves all others alone.
# shellcheck disable=SC2016,SC2046 # literal ${...}; one word per name
defined_envs=$(printf '${%s} ' $(awk "END { for (name in ENVIRON) { print ( name ~ /${filter}/ ) ? name : \"\" } }" < /dev/null))

[ -d "$template_dir" ] || exit 0
if [ ! -w "$output_dir" ]; then
    entrypoint_log "$ME: ERROR: $template_dir exists, but $output_dir is not writable"
    exit 0
fi
render "$suffix" "$output_dir"

if [ -n "$(find "$template_dir" -name "*$stream_suffix" -print -quit)" ]; then
    mkdir -p "$stream_output_dir"
    if [ ! -w "$stream_output_dir" ]; then
        entrypoint_log "$ME: ERROR: $template_dir exists, but $stream_output_dir is not writable"
        exit 0
    fi
    add_stream_block
    render "$stream_suffix" "$stream_output_dir"
fi

exit 0
