#!/bin/sh
# When NGINX_ENTRYPOINT_WORKER_PROCESSES_AUTOTUNE is set, sets worker_processes
# in /etc/nginx/nginx.conf to the CPUs this container may use (its cgroup CPU
# quota, else the CPUs it can run on), as the official image's script does.
set -e

ME=$(basename "$0")

entrypoint_log() {
    if [ -z "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ]; then
        echo "$@"
    fi
}

[ -n "${NGINX_ENTRYPOINT_WORKER_PROCESSES_AUTOTUNE:-}" ] || exit 0

conf=/etc/nginx/nginx.conf
touch "$conf" 2>/dev/null || { entrypoint_log "$ME: info: can not modify $conf (read-only file system?)"; exit 0; }

ncpu=$(nproc)
quota=; period=
if [ -r /sys/fs/cgroup/cpu.max ]; then
    read -r quota period < /sys/fs/cgroup/cpu.max
elif [ -r /sys/fs/cgroup/cpu/cpu.cfs_quota_us ] && [ -r /sys/fs/cgroup/cpu/cpu.cfs_period_us ]; then
    quota=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)
    period=$(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)
fi
case "$quota" in
    ''|max|-1) ;;
    *) limit=$(( (quota + period - 1) / period ))
       if [ "$limit" -gt 0 ] && [ "$limit" -lt "$ncpu" ]; then ncpu=$limit; fi ;;
esac

sed -i.bak -r 's/^(worker_processes)(.*)$/# Commented out by '"$ME"' on '"$(date)"'\n#\1\2\n\1 '"$ncpu"';/' "$conf"
rm -f "$conf.bak"
entrypoint_log "$ME: info: worker_processes set to $ncpu"
exit 0
