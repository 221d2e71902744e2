#!/usr/bin/env bash
# Debian's Chromium for the browser tests (test/browser), which drive it with playwright-core.
# Never a browser download (no `npx playwright install`): the distribution's package, updated with
# the machine. Idempotent: with Chromium installed it only prints the version.
set -euo pipefail
die() { printf 'setup-browser: ERROR: %s\n' "$*" >&2; exit 1; }
if [[ ! -x /usr/bin/chromium ]]; then
    [[ $(id -u) == 0 ]] || die "run as root (it installs Debian's chromium package)"
    exec 9>/run/lock/visit-counter-ci-setup.lock   # one setup at a time on this machine
    flock -w 1800 9 || die "another setup holds /run/lock/visit-counter-ci-setup.lock"
    export DEBIAN_FRONTEND=noninteractive
    # The fonts package gives pages a real sans-serif face, so screenshots look as they do for people.
    apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null 2>&1 || {
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
    }
fi
# (Debian's launcher script may complain about /dev/shm on stderr; the version is what counts.)
/usr/bin/chromium --version 2>/dev/null
