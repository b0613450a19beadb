#!/usr/bin/env bash
# Makes sure a headless-capable Chromium is installed for the HTML report's browser test
# (test/browser/), from Debian's own package (`chromium`), not a browser download: the test drives
# it with playwright-core (launch with executablePath). Installs it with apt-get when missing
# (about 30 s and 124 MB of packages on a bookworm machine whose package lists are current; an
# `apt-get update` first when they are not). Idempotent: a machine that has it only checks it runs.
#
# Progress goes to stderr; the last line on stdout is the path of the chromium binary.
#
# Environment:
#   TOLLGATE_CHROMIUM=PATH  use this binary instead (checked, never installed)
set -euo pipefail

log() { printf 'chromium: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# The Debian launcher prints the version after a warning of its own on some machines: keep the last line.
version_of() { "$1" --version 2>/dev/null | tail -n 1; }

runs() { [[ -x "$1" ]] && [[ "$(version_of "$1")" == Chromium* ]]; }

if [[ -n "${TOLLGATE_CHROMIUM:-}" ]]; then
	runs "$TOLLGATE_CHROMIUM" || die "TOLLGATE_CHROMIUM=$TOLLGATE_CHROMIUM is not a Chromium that runs"
	log "using $(version_of "$TOLLGATE_CHROMIUM") from TOLLGATE_CHROMIUM"
	printf '%s\n' "$TOLLGATE_CHROMIUM"
	exit 0
fi

binary="$(command -v chromium || true)"
if [[ -n "$binary" ]] && runs "$binary"; then
	log "using installed $(version_of "$binary")"
	printf '%s\n' "$binary"
	exit 0
fi

command -v apt-get >/dev/null 2>&1 || die "chromium is not installed and there is no apt-get to install it (install Debian's chromium package, or set TOLLGATE_CHROMIUM)"
sudo=()
if [[ "$(id -u)" != 0 ]]; then
	command -v sudo >/dev/null 2>&1 || die "chromium is not installed; installing it needs root (run: apt-get install -y chromium)"
	sudo=(sudo -n)
fi

install() {
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends chromium >&2
}

start=$SECONDS
log "installing Debian's chromium package"
if ! install; then
	# Stale package lists name versions the mirror no longer has: refresh them once and retry.
	log "apt-get install failed; running apt-get update and trying again"
	"${sudo[@]}" apt-get update >&2 || die "apt-get update failed"
	install || die "apt-get install -y chromium failed"
fi
binary="$(command -v chromium || true)"
[[ -n "$binary" ]] || die "the chromium package is installed but no chromium is on PATH"
runs "$binary" || die "$binary does not run: $("$binary" --version 2>&1 | tail -n 3)"
log "installed $(version_of "$binary") in $((SECONDS - start)) s"
printf '%s\n' "$binary"
