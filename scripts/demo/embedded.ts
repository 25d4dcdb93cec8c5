// libvirt's embedded QEMU driver (qemu:///embed?root=DIR) for the demo: its URI, its qemu.conf,
// and the fork-safe file-descriptor layout libvirt needs to start QEMU from inside Node.
import { readlinkSync } from 'node:fs';

/** File descriptors 3 .. 3+RESERVED_FD_COUNT-1 must be /dev/null for libvirt's exec of QEMU to work (see lowFdsReserved). */
export const RESERVED_FD_COUNT = 16;

/** `qemu:///embed?root=ROOT`, with ROOT percent-encoded segment by segment. */
export function embedUri(root: string): string {
  return `qemu:///embed?root=${root.split('/').map(encodeURIComponent).join('/')}`;
}

/**
 * True when fds 3 .. 3+RESERVED_FD_COUNT-1 are all /dev/null, i.e. the process was started
 * with them held open, so that libuv's own descriptors sit above them.
 *
 * WHY: libuv registers a pthread_atfork child handler that closes and re-creates its signal
 * lock pipe (at fds 4/5 in a normal Node process). libvirt starts QEMU through a double fork
 * (virExec with a pid file): the middle child closes every descriptor, opens its sync pipe at
 * the lowest free numbers (4/5 again), forks again, and the handler in the grandchild closes
 * that sync pipe. The start then fails with "Unable to notify child process: Bad file
 * descriptor" in the domain log and "Child process (...) unexpected exit status 1". Holding
 * the low fds in the parent moves libuv's pipe out of the range the middle child reuses.
 */
export function lowFdsReserved(): boolean {
  for (let fd = 3; fd < 3 + RESERVED_FD_COUNT; fd++) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) !== '/dev/null') return false;
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * The qemu.conf of the embedded driver: QEMU's log and the serial log go to files (no virtlogd),
 * and QEMU runs as this process's user rather than Debian's libvirt-qemu.
 */
export function qemuConf(): string {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  return `# Written by virt-ovf scripts/demo.ts.
# Without this the embedded driver sends QEMU's stderr and <serial><log> through the system
# virtlogd (/run/libvirt/virtlogd-sock), i.e. a running daemon.
stdio_handler = "file"
# As root the embedded driver would run QEMU as libvirt-qemu (uid 64055), which cannot reach
# images below a private directory such as /root or a mkdtemp() directory; run it as the user
# of this process, like the rest of the embedded driver.
user = "+${uid}"
group = "+${gid}"
# Do not record the images' original owners in extended attributes (nothing to restore here;
# it only causes "Invalid XATTR timestamp" warnings on some hosts).
remember_owner = 0
`;
}
