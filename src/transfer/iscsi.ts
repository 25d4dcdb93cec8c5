// iSCSI LUNs of a libvirt iscsi-direct (or iscsi) pool, written and read by QEMU's own iscsi driver
// (libiscsi) on this machine: libvirt has no upload, download or volume creation for iscsi-direct pools.
import type { Connection } from '../libvirt/index.js';
import type { SourceAuth } from '../domain/model.js';
import { LibvirtSetupError, UsageError } from '../errors.js';
import type { PoolDefinition } from '../storage/pool-xml.js';
import type { DiskSink } from '../storage/sink.js';
import type { TransferChoice, TransferMode } from './choose.js';
import { openQemuImageSink } from './nbd-sink.js';
import { rawQemuImage, type QemuImage } from './qemu-image.js';
import { secretObject } from './secret-file.js';

/** The iSCSI port a portal without one listens on (RFC 7143 §13.1). */
const ISCSI_PORT = 3260;

/** Where a LUN lives: the portal, the target, the LUN number, who logs in and with which secret. */
export interface IscsiLocation {
  /** The portal: the pool's first <source><host name port> (port 3260 when none is given). */
  readonly portal: { readonly host: string; readonly port: number };
  /** The target IQN (<source><device path>). */
  readonly target: string;
  /** The logical unit number. */
  readonly lun: number;
  /** The initiator IQN the pool logs in as (<source><initiator><iqn name>); none: QEMU's default initiator name. */
  readonly initiator?: string;
  /** CHAP user and the libvirt secret (usage type iscsi) holding the password; none: no CHAP. */
  readonly auth?: SourceAuth;
}

/** `HOST:PORT` as QEMU's `portal` and libvirt's volume keys spell it (an IPv6 address in brackets). */
export function portalText(portal: IscsiLocation['portal']): string {
  return `${portal.host.includes(':') ? `[${portal.host}]` : portal.host}:${portal.port}`;
}

/** iscsi://HOST:PORT/IQN/LUN, for messages (QEMU's iscsi URL syntax, without user or password). */
export function iscsiLabel(loc: IscsiLocation): string {
  return `iscsi://${portalText(loc.portal)}/${loc.target}/${loc.lun}`;
}

/** The LUN number at the end of a volume name `unit:B:T:L` (or `unit:H:B:T:L`), or undefined. */
function lunOfName(name: string): number | undefined {
  const m = /^unit:(?:\d+:){2,3}(\d+)$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * The LUN number of a volume key or path `ip-HOST:PORT-iscsi-IQN-lun-N` (libvirt's iscsi-direct
 * key, the iscsi pool's /dev/disk/by-path/ name), when it names this portal and target; else undefined.
 */
function lunOfPath(path: string, portal: string, target: string): number | undefined {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const prefix = `ip-${portal}-iscsi-${target}-lun-`;
  return base.startsWith(prefix) && /^\d+$/.test(base.slice(prefix.length)) ? Number(base.slice(prefix.length)) : undefined;
}

/**
 * The LUN volume `volume` of an opened iscsi-direct (or iscsi) pool names: the portal (first
 * <source><host>), target IQN (<source><device path>), initiator and CHAP auth come from the
 * pool's definition; the LUN number from the volume name `unit:0:0:N` (or a key
 * `ip-HOST:PORT-iscsi-IQN-lun-N` given as `volume`) and from `volumePath` (virStorageVolGetPath:
 * the same key for iscsi-direct, /dev/disk/by-path/ip-…-lun-N for iscsi), which must agree when
 * both name a LUN of this portal and target.
 * @throws LibvirtSetupError (exit 4, option `pool`) when the pool has no host or target IQN;
 *   (option `volume`) when neither the name nor the path yields a LUN of this pool's target, or
 *   they name different LUNs.
 */
export function iscsiLocation(store: { readonly poolName: string; readonly definition: PoolDefinition }, volume: string, volumePath?: string): IscsiLocation {
  const def = store.definition;
  const host = def.hosts[0];
  const target = def.devices[0];
  if (!host || !target) throw new LibvirtSetupError(`pool "${store.poolName}" names no iSCSI ${host ? 'target (<source><device path=IQN>)' : 'portal (<source><host name port>)'}; virt-ovf writes its LUNs from this machine and needs both`, { option: 'pool' });
  const portal = { host: host.name, port: host.port ?? ISCSI_PORT };
  // `volume` may also be the volume's key; a path naming another portal spelling (a kernel iscsi pool's by-path link) is left aside.
  const fromName = lunOfName(volume) ?? lunOfPath(volume, portalText(portal), target);
  const fromPath = volumePath === undefined ? undefined : lunOfPath(volumePath, portalText(portal), target);
  const lun = fromName ?? fromPath;
  const expected = `unit:0:0:N or ip-${portalText(portal)}-iscsi-${target}-lun-N`;
  if (lun === undefined) {
    throw new LibvirtSetupError(`volume "${volume}"${volumePath !== undefined ? ` (path ${volumePath})` : ''} of pool "${store.poolName}" is not a LUN of iSCSI target ${target} at ${portalText(portal)}: expected a name or path ${expected}`, { option: 'volume' });
  }
  if (fromName !== undefined && fromPath !== undefined && fromName !== fromPath) {
    throw new LibvirtSetupError(`volume "${volume}" of pool "${store.poolName}" names LUN ${fromName} but its path ${volumePath} names LUN ${fromPath}`, { option: 'volume' });
  }
  return { portal, target, lun, ...(def.initiator ? { initiator: def.initiator } : {}), ...(def.auth ? { auth: def.auth } : {}) };
}

/**
 * Opens LUN `loc` for QEMU (a raw node over QEMU's iscsi protocol node: transport tcp, portal,
 * target, lun, initiator-name, user, password-secret). The CHAP password of the location's
 * libvirt secret goes into a 0600 file (secret-file.ts, never a command line) that the returned
 * secret object reads. Call release() as soon as QEMU has started.
 * @throws what secretObject throws (LibvirtSetupError when the secret is missing or private).
 */
export async function openIscsiImage(conn: Connection, loc: IscsiLocation): Promise<QemuImage> {
  const file: Record<string, unknown> = { driver: 'iscsi', transport: 'tcp', portal: portalText(loc.portal), target: loc.target, lun: loc.lun, ...(loc.initiator ? { 'initiator-name': loc.initiator } : {}) };
  const label = iscsiLabel(loc);
  if (!loc.auth) return rawQemuImage(file, [], label, async () => undefined);
  const password = await secretObject(conn, loc.auth, 'virt-ovf-iscsi-password');
  Object.assign(file, { user: loc.auth.username, 'password-secret': password.id });
  return rawQemuImage(file, [password.object], label, password.release);
}

/**
 * A DiskSink writing LUN `loc` through qemu-nbd and QEMU's iscsi driver. An existing LUN may
 * hold old data, so every byte is written: zero ranges and holes become NBD write-zeroes
 * (zeroInitialized false). The password file is removed as soon as qemu-nbd has started.
 * @throws what openIscsiImage and NbdSink.open throw (ToolError with QEMU's message when the
 *   portal, target, LUN or login is refused).
 */
export async function openIscsiSink(conn: Connection, loc: IscsiLocation, opts: { label: string; signal?: AbortSignal }): Promise<DiskSink> {
  const image = await openIscsiImage(conn, loc);
  return openQemuImageSink(image, { zeroInitialized: false, label: `${opts.label} (qemu-nbd, ${image.label})`, ...(opts.signal ? { signal: opts.signal } : {}) });
}

/**
 * The data path of an iscsi-direct pool's LUNs: always written from this machine by QEMU's iscsi
 * driver (libvirt has no upload or download for iscsi-direct pools), whatever the connection.
 * @throws UsageError (option `transfer`) when a libvirt stream is asked for.
 */
export function iscsiTransfer(mode: TransferMode, poolName: string): TransferChoice {
  if (mode === 'stream') throw new UsageError(`pool "${poolName}" is an iscsi-direct pool, which libvirt cannot upload into; its LUNs are written from this machine by QEMU's iscsi driver: choose transfer auto or local`, { option: 'transfer' });
  return { path: 'local', mode, reason: `iscsi-direct pool "${poolName}": QEMU's iscsi driver writes the LUN from this machine, with the pool's initiator and CHAP secret` };
}
