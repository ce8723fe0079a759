#!/usr/bin/env bash
# Prints the hash for depsHash in nix/package.nix: the same steps as the deps
# derivation (deno install --frozen into a fresh DENO_DIR, keep npm/ without
# registry.json, plus a copy of deno.lock, which the build compares with its own),
# hashed the way Nix hashes a recursive fixed output.
# Needs deno, the npm registry and nix (nix-hash). Run from the repository root.
set -euo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
DENO_DIR="$work/deno" DENO_NO_UPDATE_CHECK=1 deno install --frozen --entrypoint main.ts >&2
mkdir -p "$work/out"
cp -r "$work/deno/npm" "$work/out/npm"
find "$work/out/npm" -name registry.json -delete
cp deno.lock "$work/out/deno.lock"
nix --extra-experimental-features nix-command hash path --sri "$work/out"
