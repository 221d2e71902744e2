#!/usr/bin/env bash
# Installs a real redis-server for the integration tests (Debian's package) when none is on PATH.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then exit 0; fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq redis-server >/dev/null 2>&1 || {
  apt-get update -qq
  apt-get install -y -qq redis-server >/dev/null
}
# The package may start a system instance on 6379; the tests start their own on free ports.
redis-server --version
