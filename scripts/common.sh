# shellcheck shell=bash
# Sourced by the scripts in this folder; not meant to be run on its own.
# Sets ROOT (the repository root), puts the npm-pinned Foundry binaries on PATH and
# gives wgpu a runtime directory.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT

# forge, anvil and cast: node_modules/.bin links to
# node_modules/@foundry-rs/<tool>-linux-amd64/bin/<tool> (installed by scripts/bootstrap).
export PATH="$ROOT/node_modules/.bin:$PATH"

# wgpu warns when XDG_RUNTIME_DIR is unset; give it a private directory.
if [[ -z "${XDG_RUNTIME_DIR:-}" ]]; then
    XDG_RUNTIME_DIR="${TMPDIR:-/tmp}/gavel-xdg-$(id -u)"
    mkdir -p -m 700 "$XDG_RUNTIME_DIR"
    export XDG_RUNTIME_DIR
fi

section() {
    printf '\n==> %s\n' "$*"
}

die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# True when the given folder (default: contracts) holds at least one Solidity file.
have_solidity() {
    local dir="${1:-contracts}"
    [[ -d "$ROOT/$dir" ]] && [[ -n "$(find "$ROOT/$dir" -name '*.sol' -print -quit)" ]]
}

require_forge() {
    command -v forge >/dev/null 2>&1 || die "forge not found in $ROOT/node_modules/.bin; run scripts/bootstrap"
}
