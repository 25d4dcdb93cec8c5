#!/usr/bin/env bash
# Process 1 of a private mount+PID namespace that plays a remote libvirt host for the tests:
# fresh tmpfs over /run, /var/log and libvirt's state directories, a cleaned copy of /etc/libvirt, a libvirtd with only
# the qemu, storage and secret drivers listening on loopback TCP (auth none), its own virtlogd, and
# (when SSH_PORT is not 0) an sshd whose sessions see this namespace's /run/libvirt.
# Run as: unshare --mount --pid --fork --mount-proc --kill-child bash remote-libvirtd.sh WORK TCP_PORT SSH_PORT
# WORK (a host directory made by test/harness/remote-libvirtd.ts) holds etc/ (an empty mount point),
# drivers/, sshd_config and the keys; everything this script mounts goes away with the namespace.
set -euo pipefail
work=$1 tcp_port=$2 ssh_port=$3

# /run and /var/log whole: sshd needs /run/sshd and writes wtmp/lastlog, neither of which may touch the host.
for d in /run /var/lib/libvirt /var/cache/libvirt /var/log; do
  mount -t tmpfs -o mode=0755 tmpfs "$d"
done
mkdir -p /run/libvirt /run/sshd /run/lock /var/lib/libvirt/images /var/log/libvirt

# A cleaned copy of /etc/libvirt: no domains, networks, pools or secrets of the host.
etc=$work/etc
mount -t tmpfs -o mode=0755 tmpfs "$etc"
cp -a /etc/libvirt/. "$etc/"
rm -rf "$etc"/qemu/*.xml "$etc"/qemu/autostart "$etc"/qemu/networks "$etc"/storage "$etc"/secrets "$etc"/nwfilter/*.xml
mkdir -p "$etc/qemu/networks/autostart" "$etc/storage/autostart" "$etc/secrets"
cat >"$etc/libvirtd.conf" <<EOF
listen_tls = 0
listen_tcp = 1
listen_addr = "127.0.0.1"
tcp_port = "$tcp_port"
auth_tcp = "none"
auth_unix_rw = "none"
unix_sock_group = "root"
unix_sock_rw_perms = "0770"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
EOF
mount --bind "$etc" /etc/libvirt
# WORK/shadow exists on the host too; here it is another (empty) directory: a pool there must not be written from outside.
mount -t tmpfs -o mode=0755 tmpfs "$work/shadow"

pids=()
stop() {
  trap - TERM INT
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait
  exit 0
}
trap stop TERM INT

# LIBVIRT_DRIVER_DIR holds links to the qemu, storage and secret drivers only.
LIBVIRT_DRIVER_DIR=$work/drivers virtlogd -p /run/libvirt/virtlogd.pid &
pids+=($!)
LIBVIRT_DRIVER_DIR=$work/drivers LIBVIRT_AUTOSTART=0 libvirtd --listen -p /run/libvirt/libvirtd.pid &
pids+=($!)
if [ "$ssh_port" != 0 ]; then
  /usr/sbin/sshd -D -e -f "$work/sshd_config" 2>>"$work/sshd.log" &
  pids+=($!)
fi
echo ready >"$work/started"

# Process 1 reaps every orphan (qemu, the daemons' helpers): bash's SIGCHLD handler collects any child.
while :; do
  sleep 1 &
  wait $! || true
done
