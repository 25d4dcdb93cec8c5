#!/usr/bin/env bash
# Installs the Debian 12 packages virt-ovf needs (libvirt, QEMU, qemu-img, OVMF, the default network's
# dnsmasq/iptables, swtpm for vTPMs, virt-xml-validate, xmllint, genisoimage, openssl for package signature chains);
# skips apt entirely when they are all present.
# xz-utils, zstd and unzip read compressed OVAs; openssh-client carries qemu+ssh:// connections; qemu-block-extra
# (QEMU's rbd driver) and libvirt-daemon-driver-storage-rbd serve Ceph RBD pools (libvirtd loads the backend when
# it starts: start it afterwards, as .ci/run does); parted handles disk-pool partitions (libvirt's disk backend runs it too).
# --test-peers also installs what the test suite runs against: the peer tools it checks exports with (virt-v2v,
# ~100 MiB), zip to pack OVAs, an sshd for the qemu+ssh:// remote host, a userspace iSCSI target (tgt) and libvirt's
# iscsi-direct pool backend for the iSCSI LUN tests.
# --ceph installs the daemons of a single-node Ceph cluster for the rbd pool tests and bench (scripts/ceph-single-node.sh).
set -euo pipefail
PACKAGES=(libvirt-daemon-system libvirt-clients qemu-utils qemu-system-x86 qemu-system-common qemu-block-extra libvirt-daemon-driver-storage-rbd ovmf swtpm swtpm-tools dnsmasq-base iptables libxml2-utils genisoimage openssl xz-utils zstd unzip openssh-client parted)
for arg in "$@"; do
  case "$arg" in
    --test-peers) PACKAGES+=(virt-v2v zip openssh-server tgt libvirt-daemon-driver-storage-iscsi-direct) ;;
    --ceph) PACKAGES+=(ceph-mon ceph-mgr ceph-osd ceph-common) ;;
    *) echo "system-packages.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present (${PACKAGES[*]})"
  exit 0
fi
SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "system packages: installing ${missing[*]}"
# Without an init system, a package's maintainer script must not (re)start daemons such as a running
# libvirtd: a policy-rc.d that refuses every action is put in place for the install, unless one exists.
guard=
if [ ! -e /usr/sbin/policy-rc.d ]; then
  guard=/usr/sbin/policy-rc.d
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$guard" >/dev/null && $SUDO chmod 755 "$guard"
  trap '$SUDO rm -f "$guard"' EXIT
fi
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
