#!/usr/bin/env bash
# Installs the Debian 12 packages virt-ovf needs (libvirt, QEMU, qemu-img, OVMF, the default network's
# dnsmasq/iptables, swtpm for vTPMs, virt-xml-validate, xmllint, genisoimage, openssl for package signature chains);
# skips apt entirely when they are all present.
# parted makes the partition tables of the disk-pool tests (libvirt's disk backend runs it too).
# --test-peers also installs the peer tools the test suite checks exports against (virt-v2v, ~100 MiB).
# --ceph installs what the rbd pool tests and bench need: the Ceph daemons for a single-node cluster
# (scripts/ceph-single-node.sh), QEMU's rbd driver and libvirtd's rbd storage backend (~150 MiB; libvirtd
# loads the backend when it starts, so start it afterwards, as .ci/run does).
set -euo pipefail
PACKAGES=(libvirt-daemon-system libvirt-clients qemu-utils qemu-system-x86 qemu-system-common ovmf swtpm swtpm-tools dnsmasq-base iptables libxml2-utils genisoimage openssl parted)
for arg in "$@"; do
  case "$arg" in
    --test-peers) PACKAGES+=(virt-v2v) ;;
    --ceph) PACKAGES+=(ceph-mon ceph-mgr ceph-osd ceph-common qemu-block-extra libvirt-daemon-driver-storage-rbd) ;;
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
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
