#!/usr/bin/env bash
# What test/integration/kubernetes-manifests.test.ts needs to render and check deploy/kubernetes:
#   - kustomize, from Debian trixie's kustomize package (else sid's): the binary only, into
#     /usr/local/bin/kustomize;
#   - the Kubernetes API's own OpenAPI (v2) document of Kubernetes v1.27.0 (the APIs a v1.27.0 API
#     server enables by default; its info.version says v1.27.0), into
#     /usr/local/share/kubernetes-openapi/v1.27.0/swagger.json. Debian ships it in trixie's
#     golang-k8s-kube-openapi-dev (k8s.io/kube-openapi keeps it as test data,
#     pkg/schemaconv/testdata/swagger.json); pinned here by its SHA-256, so the schemas validated
#     against never change unnoticed.
# Both are fetched by .ci/debian-download.sh (a temporary source list, signatures and hashes
# checked; the machine's own lists stay untouched). Idempotent: when both are in place it only checks.
set -euo pipefail
kustomize=/usr/local/bin/kustomize
spec_dir=/usr/local/share/kubernetes-openapi/v1.27.0
spec="$spec_dir/swagger.json"
spec_sha256=ecadad734eb65fe73e9612304490398c0c9162cac9787468000fa0fa2af8ba3e
spec_in_package=usr/share/gocode/src/k8s.io/kube-openapi/pkg/schemaconv/testdata/swagger.json

die() { printf 'setup-kustomize: ERROR: %s\n' "$*" >&2; exit 1; }
have_kustomize() { "$kustomize" version >/dev/null 2>&1; }
have_spec() { [[ -r $spec ]] && echo "$spec_sha256  $spec" | sha256sum --check --status; }

if ! have_kustomize || ! have_spec; then
    [[ $(id -u) == 0 ]] || die "run as root (it installs $kustomize and $spec)"
    exec 9>/run/lock/visit-counter-ci-setup.lock   # one setup at a time on this machine
    flock -w 1800 9 || die "another setup holds /run/lock/visit-counter-ci-setup.lock"
fi
if ! have_kustomize || ! have_spec; then
    echo "setup-kustomize: installing kustomize and the Kubernetes v1.27.0 OpenAPI document from Debian" >&2
    . "$(dirname "$0")/debian-download.sh"
    tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT && cd "$tmp"
    have_kustomize || debian_download setup-kustomize kustomize || exit 1
    have_spec || debian_download setup-kustomize golang-k8s-kube-openapi-dev || exit 1
    if ! have_kustomize; then
        dpkg-deb -x kustomize_*.deb k
        install -D -m 0755 k/usr/bin/kustomize "$kustomize"
        echo "setup-kustomize: installed kustomize $(dpkg-deb -f kustomize_*.deb Version)" >&2
        have_kustomize || die "installed $kustomize, but 'kustomize version' fails"
    fi
    if ! have_spec; then
        dpkg-deb -x golang-k8s-kube-openapi-dev_*.deb o
        echo "$spec_sha256  o/$spec_in_package" | sha256sum --check --status \
            || die "the package's $spec_in_package is not the pinned Kubernetes v1.27.0 document (SHA-256 $spec_sha256)"
        install -D -m 0644 "o/$spec_in_package" "$spec"
    fi
fi
echo "setup-kustomize: $kustomize, Kubernetes v1.27.0 OpenAPI document $spec"
