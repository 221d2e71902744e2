#!/usr/bin/env bash
# Compose v2 as a Docker CLI plugin from Debian trixie's docker-compose package (else sid's), which
# apt fetches from the Debian archive of this machine's apt sources through a temporary source list
# (checking the Release signature and the package hash; the machine's own lists stay untouched).
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
    tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT && mkdir -p "$tmp"/{lists/partial,cache,parts}
    # the archive URIs of the machine's release suites (not -security, -updates, ...)
    uris=$(apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE)' | awk '$2 !~ /-/ { print $1 }' | sort -u)
    [[ -n $uris ]] || die "no Debian archive in this machine's apt sources"
    printf '%s\n' 'Types: deb' "URIs: ${uris//$'\n'/ }" 'Suites: trixie sid' 'Components: main' \
        'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' >"$tmp/compose.sources"
    # (Valid-Until is not checked: a mirror may serve an index older than its Release's expiry.)
    apt=(-o "Dir::Etc::SourceList=$tmp/compose.sources" -o "Dir::Etc::SourceParts=$tmp/parts"
        -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache" -o APT::Sandbox::User=root
        -o Acquire::Check-Valid-Until=false -qq)
    # An index that fails its signature check is never used; a suite the mirror lacks is skipped.
    apt-get "${apt[@]}" update >&2 || true
    cd "$tmp" && { apt-get "${apt[@]}" download docker-compose/trixie || apt-get "${apt[@]}" download docker-compose/sid; } >&2 \
        || die "found no docker-compose package for trixie or sid at $uris"
    dpkg-deb -x docker-compose_*.deb x
    install -D -m 0755 x/usr/libexec/docker/cli-plugins/docker-compose "$plugin"
    v2 || die "installed $plugin, but 'docker compose version' does not report 2.x"
fi
echo "setup-compose: compose $(docker compose version --short)"
