#!/bin/sh
# The official docker:dind image's entrypoint, in short: with no arguments (or options only) it runs
# dockerd under `dind`, listening on the Unix socket and on TCP (2376 with TLS certificates made in
# DOCKER_TLS_CERTDIR, or 2375 without TLS when that is empty); it picks iptables' nf_tables or legacy
# backend by which one works in this kernel (DOCKER_IPTABLES_LEGACY=1 forces legacy). Other
# commands are run as given.
set -eu

_tls_generate_certs() {
    dir=$1
    [ -s "$dir/server/cert.pem" ] && return 0
    mkdir -p "$dir/ca" "$dir/server" "$dir/client"
    openssl genrsa -out "$dir/ca/key.pem" 4096 2>/dev/null
    openssl req -new -key "$dir/ca/key.pem" -out "$dir/ca/cert.pem" -subj '/CN=docker:dind CA' -x509 -days 825 2>/dev/null
    for who in server client; do
        openssl genrsa -out "$dir/$who/key.pem" 4096 2>/dev/null
        openssl req -new -key "$dir/$who/key.pem" -out "$dir/$who/csr.pem" -subj "/CN=docker:dind $who" 2>/dev/null
        if [ "$who" = server ]; then
            printf 'extendedKeyUsage = serverAuth\nsubjectAltName = DNS:docker, DNS:localhost, DNS:%s, IP:127.0.0.1\n' "$(hostname)" > "$dir/$who/openssl.cnf"
        else
            printf 'extendedKeyUsage = clientAuth\n' > "$dir/$who/openssl.cnf"
        fi
        openssl x509 -req -in "$dir/$who/csr.pem" -CA "$dir/ca/cert.pem" -CAkey "$dir/ca/key.pem" -CAcreateserial \
            -out "$dir/$who/cert.pem" -days 825 -extfile "$dir/$who/openssl.cnf" 2>/dev/null
        cp "$dir/ca/cert.pem" "$dir/$who/ca.pem"
    done
    chmod 0444 "$dir/client/key.pem"
}

# No arguments, or options only: run dockerd with them.
if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
    if [ -n "${DOCKER_TLS_CERTDIR:-}" ] && command -v openssl >/dev/null; then
        _tls_generate_certs "$DOCKER_TLS_CERTDIR"
        set -- dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2376 --tlsverify \
            --tlscacert "$DOCKER_TLS_CERTDIR/server/ca.pem" --tlscert "$DOCKER_TLS_CERTDIR/server/cert.pem" \
            --tlskey "$DOCKER_TLS_CERTDIR/server/key.pem" "$@"
    elif [ -n "${DOCKER_TLS_CERTDIR:-}" ]; then
        echo >&2 'warning: no openssl in this image: listening on the Unix socket only'
        set -- dockerd --host=unix:///var/run/docker.sock "$@"
    else
        echo >&2 'warning: DOCKER_TLS_CERTDIR is empty: the API listens on TCP 2375 without TLS'
        set -- dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 "$@"
    fi
fi

if [ "$1" = dockerd ]; then
    # The official image's choice of iptables backend: legacy when asked, or when nf_tables does
    # not work in this kernel but legacy does.
    if [ -n "${DOCKER_IPTABLES_LEGACY:-}" ] || { ! iptables-nft -t nat -S >/dev/null 2>&1 && iptables-legacy -t nat -S >/dev/null 2>&1; }; then
        update-alternatives --set iptables /usr/sbin/iptables-legacy >/dev/null
        update-alternatives --set ip6tables /usr/sbin/ip6tables-legacy >/dev/null
    fi
    # Any pid file of an earlier start on the same container is stale.
    find /run /var/run -iname 'docker*.pid' -delete 2>/dev/null || :
    set -- dind "$@"
fi
exec "$@"
