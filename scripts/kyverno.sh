#!/usr/bin/env bash
# Builds Kyverno's admission controller (cmd/kyverno of github.com/kyverno/kyverno) for the
# peer benchmark (scripts/bench/kyverno-peer.mjs, BENCHMARKS.md "Peers / Kyverno"), from the
# pinned wrapper module in scripts/bench/kyverno/. Not part of the shipped product, not run by CI.
#
# The wrapper exists because `go install pkg@version` refuses a module whose go.mod has replace
# directives, and Kyverno's replaces k8s.io/pod-security-admission with its own fork; the wrapper
# copies that directive and names cmd/kyverno as a tool, so `go build` builds it from the module
# cache with upstream's dependency versions (go.sum pins them).
#
# The binary is cached in
#   ${XDG_CACHE_HOME:-$HOME/.cache}/tollgate/kyverno/<kyverno version>/kyverno
# with a stamp (a hash of the wrapper's go.mod/go.sum and the build flags); when the stamp no
# longer matches, it is rebuilt. Cold, on 2 cores: about 1 minute of module download and 14 minutes
# of build (measured beside the control plane's cold build); 30 s with a warm Go build cache.
#
# Idempotent and safe to run concurrently (flock where available; the binary is moved into place
# only when complete). Progress goes to stderr; the last line on stdout is the binary's directory.
#
# Environment:
#   TOLLGATE_KYVERNO_REBUILD=1  rebuild even when the cache is current
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mod_dir="$repo_root/scripts/bench/kyverno"

log() { printf 'kyverno: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

command -v go >/dev/null 2>&1 || die "go is not on PATH (Go >= 1.26.6 is needed: Kyverno's go.mod says so)"

# The version comes from the wrapper's go.mod, the single place it is pinned.
version="$(awk '$1 == "require" && $2 == "github.com/kyverno/kyverno" { print $3 } $1 == "github.com/kyverno/kyverno" && $2 ~ /^v/ { print $2 }' "$mod_dir/go.mod" | head -n1)"
[[ "$version" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "cannot read the github.com/kyverno/kyverno version from $mod_dir/go.mod (got '$version')"

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/tollgate/kyverno"
bin_dir="$cache_root/$version"

build_flags=(-mod=readonly -trimpath -buildvcs=false)
# As upstream's Makefile does for a release (LD_FLAGS with VERSION set).
ldflags="-s -w -X github.com/kyverno/kyverno/pkg/version.BuildVersion=$version"

source_hash() {
	(
		cd "$mod_dir"
		sha256sum go.mod go.sum
		printf 'kyverno=%s flags=%s ldflags=%s\n' "$version" "${build_flags[*]}" "$ldflags"
	) | sha256sum | cut -d' ' -f1
}
want_stamp="$(source_hash)"

is_current() {
	[[ "${TOLLGATE_KYVERNO_REBUILD:-0}" != "1" ]] || return 1
	[[ -f "$bin_dir/.stamp" && "$(cat "$bin_dir/.stamp")" == "$want_stamp" ]] || return 1
	[[ -x "$bin_dir/kyverno" ]]
}

if is_current; then
	log "using cached kyverno $version"
	printf '%s\n' "$bin_dir"
	exit 0
fi

mkdir -p "$cache_root"
if command -v flock >/dev/null 2>&1; then
	exec 9>"$cache_root/.lock"
	if ! flock -n 9; then
		log "waiting for another build (lock $cache_root/.lock)"
		flock 9
	fi
	if is_current; then
		log "built by another process: kyverno $version"
		printf '%s\n' "$bin_dir"
		exit 0
	fi
fi
unset TOLLGATE_KYVERNO_REBUILD

go_version="$(go env GOVERSION)"
[[ "$go_version" =~ ^go1\.([0-9]+)(\.([0-9]+))? ]] || die "cannot parse go version '$go_version'"
if ((BASH_REMATCH[1] < 26)) || { ((BASH_REMATCH[1] == 26)) && ((${BASH_REMATCH[3]:-0} < 6)); }; then
	die "Go >= 1.26.6 is needed (found $go_version; GOTOOLCHAIN=go1.26.6 or later fetches one through the module proxy)"
fi

staging="$(mktemp -d "$cache_root/.build.XXXXXX")"
trap 'rm -rf "$staging"' EXIT

# Upstream builds its images with CGO_ENABLED=0 (Makefile).
export CGO_ENABLED=0

start=$SECONDS
log "downloading Go modules (github.com/kyverno/kyverno $version)"
(cd "$mod_dir" && go mod download) >&2
log "building kyverno $version (cold: ~10-15 min on 2 cores)"
(cd "$mod_dir" && go build "${build_flags[@]}" -ldflags "$ldflags" -o "$staging/kyverno" github.com/kyverno/kyverno/cmd/kyverno) >&2
[[ -x "$staging/kyverno" ]] || die "build produced no kyverno"

mkdir -p "$bin_dir"
rm -f "$bin_dir/.stamp"
mv -f "$staging/kyverno" "$bin_dir/kyverno"
printf '%s\n' "$want_stamp" >"$bin_dir/.stamp"
log "built in $((SECONDS - start))s into $bin_dir"
printf '%s\n' "$bin_dir"
