#!/usr/bin/env bash
# Builds the real Kubernetes test control plane used by tollgate's end-to-end
# tests: kube-apiserver, kubectl (same release, so client and server versions
# match) and etcd, from the pinned Go modules in test/e2e/controlplane/.
#
# The binaries are cached in
#   ${XDG_CACHE_HOME:-$HOME/.cache}/tollgate/controlplane/<kubernetes version>/
# so only the first run pays for the build (17 minutes on 2 cores on 2026-12-04, with
# the Go module download; about 3 GiB of Go build cache).
# A stamp file holds a hash of the module sources; when it no longer matches
# (an etcd bump, a new main.go), the binaries are rebuilt.
#
# Idempotent and safe to run concurrently (the build is serialised with flock
# where available and the binaries are moved into place only when complete).
# Progress goes to stderr; the last line on stdout is the cache directory.
#
# Environment:
#   TOLLGATE_CONTROLPLANE_REBUILD=1  rebuild even when the cache is current
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src_root="$repo_root/test/e2e/controlplane"
apiserver_mod="$src_root/apiserver"
etcd_mod="$src_root/etcd"

log() { printf 'controlplane: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

command -v go >/dev/null 2>&1 || die "go is not on PATH (Go >= 1.26 is needed to build the control plane)"

# Versions come from the go.mod files, the single place they are pinned.
k8s_version="$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" { print $3 } $1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2 }' "$apiserver_mod/go.mod" | head -n1)"
etcd_version="$(awk '$1 == "require" && $2 == "go.etcd.io/etcd/server/v3" { print $3 } $1 == "go.etcd.io/etcd/server/v3" && $2 ~ /^v/ { print $2 }' "$etcd_mod/go.mod" | head -n1)"
[[ "$k8s_version" =~ ^v([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] || die "cannot read the k8s.io/kubernetes version from $apiserver_mod/go.mod (got '$k8s_version')"
k8s_major="${BASH_REMATCH[1]}"
k8s_minor="${BASH_REMATCH[2]}"
[[ -n "$etcd_version" ]] || die "cannot read the etcd version from $etcd_mod/go.mod"

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/tollgate/controlplane"
bin_dir="$cache_root/$k8s_version"
binaries=(kube-apiserver kubectl etcd)

build_flags=(-mod=readonly -trimpath -buildvcs=false)
# Stamp the same version information as the upstream release build
# (hack/lib/version.sh), so `kubectl version` and /version report the release.
# The module proxy does not record the release's commit, so gitCommit is empty.
version_ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	version_ldflags+=" -X $pkg.gitVersion=$k8s_version"
	version_ldflags+=" -X $pkg.gitMajor=$k8s_major"
	version_ldflags+=" -X $pkg.gitMinor=$k8s_minor"
	version_ldflags+=" -X $pkg.gitCommit="
	version_ldflags+=" -X $pkg.gitTreeState=clean"
done

# Hash of everything that determines the binaries' content.
source_hash() {
	(
		cd "$src_root"
		find . -type f \( -name 'go.mod' -o -name 'go.sum' -o -name '*.go' \) -not -path './bin/*' -print0 |
			LC_ALL=C sort -z |
			xargs -0 sha256sum
		printf 'etcd=%s k8s=%s\n' "$etcd_version" "$k8s_version"
		printf 'flags=%s ldflags=%s\n' "${build_flags[*]}" "$version_ldflags"
	) | sha256sum | cut -d' ' -f1
}
want_stamp="$(source_hash)"

is_current() {
	[[ "${TOLLGATE_CONTROLPLANE_REBUILD:-0}" != "1" ]] || return 1
	[[ -f "$bin_dir/.stamp" && "$(cat "$bin_dir/.stamp")" == "$want_stamp" ]] || return 1
	local b
	for b in "${binaries[@]}"; do
		[[ -x "$bin_dir/$b" ]] || return 1
	done
}

if is_current; then
	log "using cached kube-apiserver/kubectl $k8s_version and etcd $etcd_version"
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
	# Another process may have finished the build while we waited.
	if is_current; then
		log "built by another process: kube-apiserver/kubectl $k8s_version and etcd $etcd_version"
		printf '%s\n' "$bin_dir"
		exit 0
	fi
fi
# The lock is held for the rest of the script; the trap cleans the staging dir.
unset TOLLGATE_CONTROLPLANE_REBUILD

go_version="$(go env GOVERSION)"
[[ "$go_version" =~ ^go1\.([0-9]+) ]] || die "cannot parse go version '$go_version'"
((BASH_REMATCH[1] >= 26)) || die "Go >= 1.26 is needed (found $go_version)"

staging="$(mktemp -d "$cache_root/.build.XXXXXX")"
trap 'rm -rf "$staging"' EXIT

export CGO_ENABLED=0

start=$SECONDS
log "downloading Go modules (k8s.io/kubernetes $k8s_version, etcd $etcd_version)"
(cd "$apiserver_mod" && go mod download) >&2
(cd "$etcd_mod" && go mod download) >&2

# The release date of k8s.io/kubernetes stands in for the build date (reproducible).
build_date="$(cd "$apiserver_mod" && go list -m -f '{{if .Time}}{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' k8s.io/kubernetes)"
ldflags="-s -w$version_ldflags"
if [[ -n "$build_date" ]]; then
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ldflags+=" -X $pkg.buildDate=$build_date"
	done
fi

log "building kube-apiserver and kubectl $k8s_version (cold: 15-35 min on 2 cores)"
(cd "$apiserver_mod" && go build "${build_flags[@]}" -ldflags "$ldflags" -o "$staging/" ./cmd/kube-apiserver ./cmd/kubectl) >&2
log "building etcd $etcd_version"
(cd "$etcd_mod" && go build "${build_flags[@]}" -ldflags "-s -w" -o "$staging/etcd" .) >&2

for b in "${binaries[@]}"; do
	[[ -x "$staging/$b" ]] || die "build produced no $b"
done
"$staging/kube-apiserver" --version >&2
"$staging/etcd" --version >&2

mkdir -p "$bin_dir"
rm -f "$bin_dir/.stamp"
for b in "${binaries[@]}"; do
	mv -f "$staging/$b" "$bin_dir/$b"
done
printf '%s\n' "$want_stamp" >"$bin_dir/.stamp"
log "built in $((SECONDS - start))s into $bin_dir"
printf '%s\n' "$bin_dir"
