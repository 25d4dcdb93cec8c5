#!/usr/bin/env bash
# A throw-away single-node Ceph cluster for the rbd tests and bench, from Debian 12's packages
# (ceph-mon, ceph-mgr, ceph-osd, ceph-common), without systemd or cephadm:
#   ceph-single-node.sh DIR PORT
# makes DIR (must not exist) holding ceph.conf, the keyrings and every daemon's data; starts one
# monitor on 127.0.0.1:PORT (msgr v1 only), one manager and one bluestore OSD on a sparse 10 GiB
# file (no LVM, no ceph-volume), creates the rbd pool "rbd" (size 1) and a client "client.virtovf"
# with the rbd profile; prints "READY <client key file>" once the pool answers, then waits. TERM or
# INT stops the daemons and removes DIR. Run it under `setpriv --pdeathsig KILL` (the harness does):
# the daemons run in the foreground as its children, each with --pdeathsig too, so nothing outlives it.
set -euo pipefail
DIR=${1:?usage: ceph-single-node.sh DIR PORT}
PORT=${2:?usage: ceph-single-node.sh DIR PORT}
POOL=${CEPH_POOL:-rbd}
# The OSD's sparse block file: in DIR, or under CEPH_BLOCK_DIR (e.g. /dev/shm: tmpfs takes O_DIRECT
# since Linux 6.6, and holds only the bytes written, in memory; a disk file makes bluestore's
# O_DIRECT writes and syncs compete with every other writer of the disk).
[ ! -e "$DIR" ] || { echo "ceph-single-node: $DIR exists" >&2; exit 2; }
mkdir -m 0700 "$DIR"
pids=()
stop() {
  trap - TERM INT EXIT
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  rm -rf "$DIR"
  [ -z "${BLOCK_LINK:-}" ] || rm -rf "$BLOCK_LINK"
}
trap 'stop; exit 0' TERM INT
trap stop EXIT; [ -z "${CEPH_KEEP_ON_FAILURE:-}" ] || trap 'trap - EXIT; for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done' EXIT
BLOCK_DIR=$DIR/osd
if [ -n "${CEPH_BLOCK_DIR:-}" ]; then BLOCK_LINK=$(mktemp -d "$CEPH_BLOCK_DIR/virt-ovf-ceph-osd.XXXXXX"); BLOCK_DIR=$BLOCK_LINK; fi
CONF=$DIR/ceph.conf
FSID=$(cat /proc/sys/kernel/random/uuid)
mkdir -p "$DIR"/{run,log,mon,mgr,osd}
cat >"$CONF" <<CONF
[global]
fsid = $FSID
mon host = v1:127.0.0.1:$PORT
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr2 = false
ms bind ipv6 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
osd pool default size = 1
osd pool default min size = 1
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
auth allow insecure global id reclaim = false
osd crush chooseleaf type = 0
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
keyring = $DIR/\$name.keyring
mon data = $DIR/mon/\$name
mgr data = $DIR/mgr/\$name
osd data = $DIR/osd/\$name
[osd]
osd objectstore = bluestore
bluestore block path = $BLOCK_DIR/\$name.block
bluestore block create = true
bluestore block size = 10737418240
osd memory target = 939524096
# A file is no disk: flash settings (no deferred double writes through the WAL).
bluestore debug enforce settings = ssd
bluestore prefer deferred size = 0
osd max object name len = 256
osd max object namespace len = 64
[mgr]
mgr initial modules =
CONF
ceph_() { ceph -c "$CONF" -n client.admin -k "$DIR/client.admin.keyring" "$@"; }
daemon() { setpriv --pdeathsig KILL "$@" -c "$CONF" -f >>"$DIR/log/stdout.log" 2>&1 & pids+=($!); }
ceph-authtool --create-keyring "$DIR/mon.a.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool --create-keyring "$DIR/client.admin.keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
ceph-authtool "$DIR/mon.a.keyring" --import-keyring "$DIR/client.admin.keyring" >/dev/null
monmaptool --create --addv a "[v1:127.0.0.1:$PORT]" --fsid "$FSID" "$DIR/monmap" >/dev/null
ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/mon.a.keyring"
daemon ceph-mon -i a
ceph_ --connect-timeout 30 auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' -o "$DIR/mgr.x.keyring" >/dev/null
mkdir -p "$DIR/mgr/mgr.x"
daemon ceph-mgr -i x
OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
OSD_KEY=$(ceph-authtool --gen-print-key)
OSD_ID=$(echo "{\"cephx_secret\": \"$OSD_KEY\"}" | ceph_ osd new "$OSD_UUID" -i -)
mkdir -p "$DIR/osd/osd.$OSD_ID"
ceph-authtool --create-keyring "$DIR/osd.$OSD_ID.keyring" --name "osd.$OSD_ID" --add-key "$OSD_KEY" >/dev/null
ceph-osd -c "$CONF" -i "$OSD_ID" --mkfs --osd-uuid "$OSD_UUID" >>"$DIR/log/mkfs.log" 2>&1
daemon ceph-osd -i "$OSD_ID"
ceph_ osd pool create "$POOL" 8 8 >/dev/null 2>&1
ceph_ osd pool set "$POOL" size 1 --yes-i-really-mean-it >/dev/null 2>&1
rbd -c "$CONF" -n client.admin -k "$DIR/client.admin.keyring" pool init "$POOL"
ceph_ auth get-or-create client.virtovf mon 'profile rbd' osd "profile rbd pool=$POOL" mgr "profile rbd pool=$POOL" -o "$DIR/client.virtovf.keyring" >/dev/null
ceph_ auth print-key client.virtovf >"$DIR/client.virtovf.key"
chmod 0600 "$DIR"/*.keyring "$DIR/client.virtovf.key"
# Ready when a client write lands (the OSD is up and the pool's PGs are active).
until rbd -c "$CONF" -n client.virtovf -k "$DIR/client.virtovf.keyring" -p "$POOL" ls >/dev/null 2>&1 && ceph_ pg stat 2>/dev/null | grep -q 'active+clean'; do
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || { echo "ceph-single-node: a daemon exited; see $DIR/log" >&2; tail -20 "$DIR"/log/*.log >&2; exit 1; }; done
  sleep 0.3
done
echo "READY $DIR/client.virtovf.key"
wait
