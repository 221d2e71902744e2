#!/usr/bin/env bash
# Compose v2 as a Docker CLI plugin from Debian trixie's docker-compose package (else sid's),
# fetched by .ci/debian-download.sh (a temporary source list; the machine's own lists stay untouched).
# Only the plugin binary is installed. Idempotent: with Compose 2.x it only checks. Prints the version.
set -euo pipefail
plugin=/usr/local/lib/docker/cli-plugins/docker-compose
v2() { docker compose version --short 2>/dev/null | grep -qE '^v?2\.'; }
die() { printf 'setup-compose: ERROR: %s\n' "$*" >&2; exit 1; }
if ! v2; then
    [[ $(id -u) == 0 ]] || die "run as root (it installs $plugin)"
    exec 9>/run/lock/visit-counter-ci-setup.lock   # one setup at a time on this machine
    flock -w 1800 9 || die "another setup holds /run/lock/visit-counter-ci-setup.lock"
fi
if ! v2; then
    echo "setup-compose: installing Compose v2 from Debian's docker-compose package" >&2
    . "$(dirname "$0")/debian-download.sh"
    tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT && cd "$tmp"
    debian_download setup-compose docker-compose || exit 1
    dpkg-deb -x docker-compose_*.deb x
    install -D -m 0755 x/usr/libexec/docker/cli-plugins/docker-compose "$plugin"
    v2 || die "installed $plugin, but 'docker compose version' does not report 2.x"
fi
echo "setup-compose: compose $(docker compose version --short)"
