#!/usr/bin/env bash
# Installs the Debian packages the fast tests need (systemd-analyze for the unit
# checks, nix-instantiate for the Nix and disko tests). Idempotent and quiet when
# everything is there. Not root: says what is missing and goes on (those tests
# then fail under CI and say they did not run elsewhere).
set -euo pipefail
need=()
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v nix-instantiate >/dev/null 2>&1 || need+=(nix-bin)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: missing ${need[*]} (install them as root with apt-get); the tests that need them will say so" >&2
  exit 0
fi
echo "== apt-get install ${need[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
