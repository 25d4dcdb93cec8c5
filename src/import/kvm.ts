// Whether kvm will work: the domain capabilities offer it, and QEMU's user can open /dev/kvm.
import { open, readFile, stat } from 'node:fs/promises';
import type { Connection } from '../libvirt/index.js';
import { isLocalUri, isSessionUri } from './advice.js';

/** The KVM device QEMU opens for `<domain type='kvm'>`. */
export const KVM_DEVICE = '/dev/kvm';

/** The user QEMU runs as: uid, primary gid and supplementary gids. */
export interface QemuUser {
  readonly uid: number;
  readonly gid: number;
  readonly groups: readonly number[];
}

/**
 * Whether the device's mode bits let `user` open it read-write (owner, group or other rw).
 * uid 0 always may. ACLs and device cgroups are not read here (see kvmProblem's own open).
 */
export async function deviceOpenableBy(device: string, user: QemuUser): Promise<boolean> {
  if (user.uid === 0) return true;
  const st = await stat(device);
  const rw = (shift: number) => ((st.mode >> shift) & 0o6) === 0o6;
  if (st.uid === user.uid) return rw(6);
  if (st.gid === user.gid || user.groups.includes(st.gid)) return rw(3);
  return rw(0);
}

/**
 * The DAC user of QEMU processes on a system connection: `<secmodel><model>dac</model>` with
 * `<baselabel type='kvm'>+UID:+GID</baselabel>` in the host capabilities (virConnectGetCapabilities),
 * and the supplementary groups /etc/group gives that user (plus /etc/passwd's primary group,
 * as initgroups(3) would). Undefined when the capabilities do not say.
 */
export async function qemuUser(capabilities: string): Promise<QemuUser | undefined> {
  const label = /<model>dac<\/model>[\s\S]*?<baselabel type=['"]kvm['"]>\+?(\d+):\+?(\d+)<\/baselabel>/.exec(capabilities);
  if (!label) return undefined;
  const uid = Number(label[1]);
  const gid = Number(label[2]);
  const passwd = (await readFile('/etc/passwd', 'utf8').catch(() => '')).split('\n').map((l) => l.split(':'));
  const entry = passwd.find((f) => Number(f[2]) === uid && f[2] !== undefined && f[2] !== '');
  const groups = entry?.[3] !== undefined ? [Number(entry[3])] : [];
  if (entry) {
    for (const line of (await readFile('/etc/group', 'utf8').catch(() => '')).split('\n')) {
      const f = line.split(':');
      if ((f[3] ?? '').split(',').includes(entry[0] ?? '')) groups.push(Number(f[2]));
    }
  }
  return { uid, gid, groups };
}

/**
 * Why kvm will not work on this connection, or undefined when it should:
 * - the domain capabilities for virttype kvm are refused (virConnectGetDomainCapabilities): `offered` false;
 * - on a local connection, /dev/kvm is missing, cannot be opened by this process (device cgroup,
 *   or the session's own user), or its mode bits shut out QEMU's user (system connections, from
 *   the capabilities' DAC base label): `offered` true with the reason.
 * A remote connection is taken at its domain capabilities' word.
 */
export async function kvmProblem(conn: Connection): Promise<{ offered: boolean; reason: string } | undefined> {
  const offered = await conn.domainCapabilities({ virttype: 'kvm' }).then(
    () => true,
    () => false,
  );
  if (!offered) return { offered, reason: 'the domain capabilities offer no kvm' };
  let uri: string | null = null;
  try {
    uri = conn.uri();
  } catch {
    return undefined;
  }
  if (!isLocalUri(uri)) return undefined;
  const opened = await open(KVM_DEVICE, 'r+').then(
    async (fh) => {
      await fh.close();
      return undefined;
    },
    (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? `${KVM_DEVICE} does not exist` : `${KVM_DEVICE} cannot be opened (${err.code ?? err.message})`),
  );
  // A session's QEMU runs as this process's user; a system QEMU as root can open what root can.
  if (opened !== undefined && (isSessionUri(uri) || process.getuid?.() === 0 || opened.endsWith('does not exist'))) return { offered, reason: opened };
  if (isSessionUri(uri)) return undefined;
  const user = await conn.capabilities().then(qemuUser, () => undefined);
  if (user && !(await deviceOpenableBy(KVM_DEVICE, user).catch(() => false))) {
    return { offered, reason: `QEMU runs as uid ${user.uid} (gid ${user.gid}), which the mode of ${KVM_DEVICE} does not let open it` };
  }
  return undefined;
}
