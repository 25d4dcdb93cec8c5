#!/usr/bin/env bash
# Starts virtlogd and libvirtd (system mode, as root) when libvirtd does not answer, and the
# `default` NAT network; on machines without an init system nothing else starts them.
set -euo pipefail
SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
if ! $SUDO virsh -c qemu:///system version >/dev/null 2>&1; then
  pgrep -x virtlogd >/dev/null || $SUDO virtlogd -d
  pgrep -x libvirtd >/dev/null || $SUDO libvirtd -d
  for _ in $(seq 1 60); do
    $SUDO virsh -c qemu:///system version >/dev/null 2>&1 && break
    sleep 0.5
  done
fi
$SUDO virsh -c qemu:///system version >/dev/null
if [ "$($SUDO virsh -c qemu:///system net-info default 2>/dev/null | awk '/^Active:/ {print $2}')" != "yes" ]; then
  $SUDO virsh -c qemu:///system net-start default >/dev/null
fi
echo "libvirtd: running; network default: active"
