#!/usr/bin/env bash
# promtool for the metrics tests (`promtool check metrics` lints what the app exports), from Debian:
# the `promtool` package where the suite has one, else the `prometheus` package that carries it.
# Only the binary is installed (/usr/local/bin/promtool): no Prometheus service, user or config.
# Idempotent: with promtool on PATH it only prints the version.
set -euo pipefail
say() { printf 'setup-promtool: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
if ! command -v promtool >/dev/null 2>&1; then
    [[ $(id -u) == 0 ]] || die "run as root (it installs /usr/local/bin/promtool)"
    tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT && chmod 0755 "$tmp"
    fetch() { (cd "$tmp" && { apt-get download -qq promtool || apt-get download -qq prometheus; }) >/dev/null 2>&1; }
    fetch || { apt-get update -qq && fetch; } || die "found no promtool or prometheus package in this machine's apt sources"
    for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$tmp/x"; done
    [[ -x $tmp/x/usr/bin/promtool ]] || die "the package holds no usr/bin/promtool"
    install -D -m 0755 "$tmp/x/usr/bin/promtool" /usr/local/bin/promtool
fi
say "$(promtool --version 2>&1 | head -n 1)"
