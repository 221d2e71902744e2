#!/usr/bin/env bash
# A Docker engine that answers: when none does, installs Debian's docker.io if dockerd is missing and
# starts dockerd in the background (log: /var/log/dockerd.log). Idempotent: with an engine up it only
# checks. Prints the versions. Knobs: DOCKERD_STORAGE_DRIVER, DOCKERD_START_TIMEOUT=90 (seconds).
set -euo pipefail
pidfile=/var/run/docker.pid log=/var/log/dockerd.log
say() { printf 'setup-engine: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
dockerd_died() { tail -n 30 "$log" | sed 's/^/    | /' >&2; die "$* (log: $log)"; }
answers() { timeout 20 docker info >/dev/null 2>&1; }
# A live process: neither gone nor a zombie (a dockerd killed with its session can linger
# unreaped, and a dockerd started here that exits stays our zombie until we wait for it).
running() { local s; s=$(sed -E 's/^.*\) (.).*$/\1/' "/proc/$1/stat" 2>/dev/null) && [[ $s != [ZX] ]]; }

# The driver an earlier dockerd left its images in, else overlay2 when an overlay mount works on
# /var/lib/docker's file system, else vfs (slow, but works anywhere).
storage_driver() {
    local d p
    if [[ -n ${DOCKERD_STORAGE_DRIVER:-} ]]; then echo "$DOCKERD_STORAGE_DRIVER"; return; fi
    for d in overlay2 fuse-overlayfs btrfs zfs vfs; do [[ -d /var/lib/docker/image/$d ]] && echo "$d" && return; done
    modprobe overlay 2>/dev/null || true
    mkdir -p /var/lib/docker && p=$(mktemp -d /var/lib/docker/.overlay-probe.XXXXXX) && d=vfs
    mkdir "$p"/{lower,upper,work,merged} && echo ok >"$p/lower/f"
    if mount -t overlay overlay -o "lowerdir=$p/lower,upperdir=$p/upper,workdir=$p/work" "$p/merged" 2>/dev/null; then
        [[ -f $p/merged/f ]] && d=overlay2
        umount "$p/merged"
    fi
    rm -rf "$p" && echo "$d"
}

start_dockerd() {
    # A dockerd killed with its session leaves its pid file behind: remove it, so that neither
    # the new dockerd refuses to start nor the old pid is taken for the new one.
    rm -f "$pidfile"
    local args=(--pidfile "$pidfile" --storage-driver "$(storage_driver)") dev mtu
    # Containers need NAT (apt and npm in image builds): use iptables-legacy when nf_tables fails.
    if ! iptables -t nat -S >/dev/null 2>&1 && ! { [[ -x /usr/sbin/iptables-legacy ]] \
        && update-alternatives --set iptables /usr/sbin/iptables-legacy >/dev/null 2>&1 \
        && update-alternatives --set ip6tables /usr/sbin/ip6tables-legacy >/dev/null 2>&1 \
        && iptables -t nat -S >/dev/null 2>&1; }; then
        say "warning: iptables does not work here: --iptables=false (containers get no outside access)"
        args+=(--iptables=false --ip-masq=false)
    fi
    # Containers on the default bridge (the classic builder's RUN steps) get the uplink's MTU
    # when that is below Ethernet's 1500.
    dev=$(ip route show default 2>/dev/null | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }')
    mtu=$(cat "/sys/class/net/${dev:-none}/mtu" 2>/dev/null || echo 0)
    if ((mtu > 0 && mtu < 1500)); then args+=(--mtu "$mtu"); fi
    say "starting dockerd ${args[*]} (log: $log)"
    printf '\n### %s: dockerd %s\n' "$(date -u +%FT%TZ)" "${args[*]}" >>"$log"
    # No job control in a script, so setsid execs in place and $! is dockerd itself;
    # fd 9 (the setup lock) must not stay open in dockerd.
    setsid nohup dockerd "${args[@]}" </dev/null >>"$log" 2>&1 9>&- &
    pid=$!
}

start_engine() {
    [[ $(id -u) == 0 ]] || die "run as root (it installs packages and starts dockerd)"
    command -v docker >/dev/null || die "no docker client on PATH"
    exec 9>/run/lock/visit-counter-ci-setup.lock   # one setup at a time on this machine
    flock -w 1800 9 || die "another setup holds /run/lock/visit-counter-ci-setup.lock"
    if answers; then return; fi
    if ! command -v dockerd >/dev/null; then
        say "installing Debian's docker.io" && export DEBIAN_FRONTEND=noninteractive
        apt-get install -qq -y --no-install-recommends docker.io >/dev/null \
            || { apt-get update -qq && apt-get install -qq -y --no-install-recommends docker.io >/dev/null; }
    fi
    # dockerd needs cgroups: mount the unified hierarchy if nothing is mounted there.
    [[ -n $(ls -A /sys/fs/cgroup 2>/dev/null) ]] || mount -t cgroup2 none /sys/fs/cgroup \
        || die "no cgroup file system at /sys/fs/cgroup and cannot mount one"
    # A dockerd of an earlier run that is up but not answering yet is waited for, not started again.
    pid=$(cat "$pidfile" 2>/dev/null || true)
    if ! { [[ -n $pid && $(cat "/proc/$pid/comm" 2>/dev/null) == dockerd ]] && running "$pid"; }; then start_dockerd; fi
    local tries=1 deadline=$((SECONDS + ${DOCKERD_START_TIMEOUT:-90}))
    until answers; do
        ((SECONDS < deadline)) || dockerd_died "dockerd did not answer within ${DOCKERD_START_TIMEOUT:-90}s"
        if ! running "$pid"; then
            # The dockerd and containerd of a killed session may still be letting go of their
            # files (containerd's database lock), and a new dockerd then exits at once: 3 tries.
            ((tries++ < 3)) || dockerd_died "dockerd exited"
            say "warning: dockerd exited while starting (attempt $((tries - 1))); starting it again in 3 s"
            sleep 3
            start_dockerd
            continue
        fi
        sleep 1
    done
}

if ! answers; then start_engine; fi
docker version -f 'setup-engine: engine {{.Server.Version}} (API {{.Server.APIVersion}}, client {{.Client.Version}})'
docker info -f '  storage driver {{.Driver}}, cgroup v{{.CgroupVersion}}'
