#!/usr/bin/env bash
# Installs the Debian packages the lab needs on the build machine (systemd-nspawn,
# debootstrap, Podman, the registry, busybox-static, gcc with a static libc; Ansible and
# an SSH client for the fleet lab). Idempotent and quiet when everything is there; does nothing (the
# lab then reports it did not run) when not root on Linux.
set -euo pipefail
[ "$(uname -s)" = Linux ] || exit 0
[ "$(id -u)" = 0 ] || exit 0
need=()
command -v systemd-nspawn >/dev/null 2>&1 || need+=(systemd-container)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
command -v podman >/dev/null 2>&1 || need+=(podman runc crun fuse-overlayfs slirp4netns uidmap catatonit)
[ -x /bin/busybox ] || need+=(busybox-static)
# gcc and a static libc: the fakes' socket-activation server (tests/lab/app/fdserve.c).
command -v gcc >/dev/null 2>&1 || need+=(gcc)
ls /usr/lib/*-linux-gnu/libc.a >/dev/null 2>&1 || need+=(libc6-dev)
# the fleet lab: Ansible as the controller, reaching its hosts over SSH
command -v ansible-playbook >/dev/null 2>&1 || need+=(ansible-core)
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
if [ ${#need[@]} -gt 0 ]; then
  echo "== apt-get install ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
