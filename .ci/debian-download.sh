# Sourced by the setup scripts that take a package from Debian's newer suites. Defines
# debian_download TAG PACKAGE...: downloads each PACKAGE's .deb from trixie (else sid) into the
# current directory, from the Debian archive of this machine's apt sources, through a temporary
# source list (checking the Release signature and the package hash; the machine's own lists stay
# untouched). TAG names the caller in messages. Nothing is installed: the caller unpacks what it needs.
debian_download() {
    local tag=$1 tmp uris package
    shift
    tmp=$(mktemp -d) && mkdir -p "$tmp"/{lists/partial,cache,parts}
    # the archive URIs of the machine's release suites (not -security, -updates, ...)
    uris=$(apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE)' | awk '$2 !~ /-/ { print $1 }' | sort -u)
    [[ -n $uris ]] || { printf '%s: ERROR: no Debian archive in the apt sources of this machine\n' "$tag" >&2; rm -rf "$tmp"; return 1; }
    printf '%s\n' 'Types: deb' "URIs: ${uris//$'\n'/ }" 'Suites: trixie sid' 'Components: main' \
        'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' >"$tmp/newer.sources"
    # (Valid-Until is not checked: a mirror may serve an index older than its Release's expiry.)
    local apt=(-o "Dir::Etc::SourceList=$tmp/newer.sources" -o "Dir::Etc::SourceParts=$tmp/parts"
        -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache" -o APT::Sandbox::User=root
        -o Acquire::Check-Valid-Until=false -qq)
    # An index that fails its signature check is never used; a suite the mirror lacks is skipped.
    apt-get "${apt[@]}" update >&2 || true
    for package in "$@"; do
        { apt-get "${apt[@]}" download "$package/trixie" || apt-get "${apt[@]}" download "$package/sid"; } >&2 || {
            printf '%s: ERROR: found no %s package for trixie or sid at %s\n' "$tag" "$package" "$uris" >&2
            rm -rf "$tmp"
            return 1
        }
    done
    rm -rf "$tmp"
}
