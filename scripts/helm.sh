#!/usr/bin/env bash
# Builds the helm CLI that tollgate's chart tests run (test/charts/, test/e2e/helm.test.ts), from the
# Go module pinned in test/e2e/helm/go.mod (helm.sh/helm/v4), the way scripts/controlplane.sh builds
# the control plane: no binary from the network, only Go modules through the module proxy.
#
# The binary is cached in
#   ${XDG_CACHE_HOME:-$HOME/.cache}/tollgate/helm/<helm version>/helm
# so only the first run pays for the build (about 5-6 minutes on 2 cores shared with other builds,
# 3.5 minutes of CPU, with the module download; a cached run takes 0.02 s). A stamp file holds a
# hash of the module files and build flags; when it no longer matches (a version bump), the binary
# is rebuilt.
#
# Idempotent and safe to run concurrently (the build is serialised with flock where available and
# the binary is moved into place only when complete). Progress goes to stderr; the last line on
# stdout is the path of the helm binary.
#
# Environment:
#   TOLLGATE_HELM_REBUILD=1  rebuild even when the cache is current
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mod_dir="$repo_root/test/e2e/helm"

log() { printf 'helm: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

command -v go >/dev/null 2>&1 || die "go is not on PATH (Go >= 1.26 is needed to build helm)"

# The version comes from go.mod, the single place it is pinned.
helm_version="$(awk '$1 == "require" && $2 == "helm.sh/helm/v4" { print $3 } $1 == "helm.sh/helm/v4" && $2 ~ /^v/ { print $2 }' "$mod_dir/go.mod" | head -n1)"
[[ "$helm_version" =~ ^v4\.[0-9]+\.[0-9]+$ ]] || die "cannot read the helm.sh/helm/v4 version from $mod_dir/go.mod (got '$helm_version')"

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/tollgate/helm"
bin_dir="$cache_root/$helm_version"
binary="$bin_dir/helm"

build_flags=(-mod=readonly -trimpath -buildvcs=false)
# What helm's own Makefile stamps for a release build, so `helm version` names the release. The
# module proxy does not record the release's commit, so gitCommit stays empty.
ldflags="-s -w"
ldflags+=" -X helm.sh/helm/v4/internal/version.version=$helm_version"
ldflags+=" -X helm.sh/helm/v4/internal/version.metadata="
ldflags+=" -X helm.sh/helm/v4/internal/version.gitTreeState=clean"

# Hash of everything that determines the binary's content.
source_hash() {
	(
		cd "$mod_dir"
		sha256sum go.mod go.sum
		printf 'helm=%s flags=%s ldflags=%s\n' "$helm_version" "${build_flags[*]}" "$ldflags"
	) | sha256sum | cut -d' ' -f1
}
want_stamp="$(source_hash)"

is_current() {
	[[ "${TOLLGATE_HELM_REBUILD:-0}" != "1" ]] || return 1
	[[ -f "$bin_dir/.stamp" && "$(cat "$bin_dir/.stamp")" == "$want_stamp" && -x "$binary" ]]
}

if is_current; then
	log "using cached helm $helm_version"
	printf '%s\n' "$binary"
	exit 0
fi

mkdir -p "$cache_root"
if command -v flock >/dev/null 2>&1; then
	exec 9>"$cache_root/.lock"
	if ! flock -n 9; then
		log "waiting for another build (lock $cache_root/.lock)"
		flock 9
	fi
	# Another process may have finished the build while we waited.
	if is_current; then
		log "built by another process: helm $helm_version"
		printf '%s\n' "$binary"
		exit 0
	fi
fi
# The lock is held for the rest of the script; the trap cleans the staging dir.
unset TOLLGATE_HELM_REBUILD

go_version="$(go env GOVERSION)"
[[ "$go_version" =~ ^go1\.([0-9]+) ]] || die "cannot parse go version '$go_version'"
((BASH_REMATCH[1] >= 26)) || die "Go >= 1.26 is needed (found $go_version)"

staging="$(mktemp -d "$cache_root/.build.XXXXXX")"
trap 'rm -rf "$staging"' EXIT

export CGO_ENABLED=0

start=$SECONDS
log "downloading Go modules (helm.sh/helm/v4 $helm_version)"
(cd "$mod_dir" && go mod download) >&2
log "building helm $helm_version (cold: ~5 min on 2 cores)"
(cd "$mod_dir" && go build "${build_flags[@]}" -ldflags "$ldflags" -o "$staging/helm" helm.sh/helm/v4/cmd/helm) >&2

[[ -x "$staging/helm" ]] || die "build produced no helm binary"
# Same home-free environment as the tests, so the check does not read a user's helm settings.
HELM_CONFIG_HOME="$staging/config" HELM_CACHE_HOME="$staging/cache" HELM_DATA_HOME="$staging/data" \
	"$staging/helm" version --template '{{.Version}}' >"$staging/version" 2>&1 || die "the built helm does not run: $(cat "$staging/version")"
[[ "$(cat "$staging/version")" == "$helm_version" ]] || die "the built helm reports version '$(cat "$staging/version")', expected $helm_version"
log "helm version: $(cat "$staging/version")"

mkdir -p "$bin_dir"
rm -f "$bin_dir/.stamp"
mv -f "$staging/helm" "$binary"
printf '%s\n' "$want_stamp" >"$bin_dir/.stamp"
log "built in $((SECONDS - start))s into $bin_dir"
printf '%s\n' "$binary"
