// RBD images of a libvirt rbd pool, written and read by QEMU's own rbd driver on this machine (libvirt has no upload or download for rbd pools).
import type { Connection } from '../libvirt/index.js';
import { secretObject } from './secret-file.js';
import type { NetworkHost, SourceAuth } from '../domain/model.js';
import type { PoolDefinition } from '../storage/pool-xml.js';
import { UsageError } from '../errors.js';
import type { TransferChoice, TransferMode } from './choose.js';
import { rawQemuImage, type QemuImage } from './qemu-image.js';

/** QEMU's view of one RBD image: a raw node over the rbd protocol node (pool, image, server, user, key-secret), label rbd:CEPHPOOL/IMAGE. */
export type RbdImage = QemuImage;

/** Where an RBD image lives: the Ceph pool, the monitors, and the libvirt secret the pool logs in with. */
export interface RbdLocation {
  /** The Ceph pool (<source><name> of the libvirt pool, or the first part of a disk's <source name>). */
  readonly pool: string;
  readonly image: string;
  /** Ceph monitors (<source><host name port>); none: QEMU reads the monitors from ceph.conf. */
  readonly hosts: readonly NetworkHost[];
  /** cephx user (without `client.`) and the libvirt secret holding its key; none: no cephx. */
  readonly auth?: SourceAuth;
  /** A ceph.conf for QEMU (<config file>), when the disk names one. */
  readonly config?: string;
}

/**
 * Opens RBD image `loc` for QEMU: the key of the location's libvirt secret goes into a 0600
 * file (secret-file.ts, never a command line) that the returned secret object reads, named by
 * the rbd node's `key-secret`. Call release() as soon as QEMU has started.
 * @throws what secretObject throws.
 */
export async function openRbdImage(conn: Connection, loc: RbdLocation): Promise<RbdImage> {
  const server = loc.hosts.map((h) => ({ host: h.name, ...(h.port !== undefined ? { port: String(h.port) } : {}) }));
  const file: Record<string, unknown> = { driver: 'rbd', pool: loc.pool, image: loc.image, ...(server.length > 0 ? { server } : {}), ...(loc.config ? { conf: loc.config } : {}) };
  const label = `rbd:${loc.pool}/${loc.image}`;
  if (!loc.auth) return rawQemuImage(file, [], label, async () => undefined);
  const key = await secretObject(conn, loc.auth, 'virt-ovf-rbd-key');
  Object.assign(file, { user: loc.auth.username, 'key-secret': key.id });
  return rawQemuImage(file, [key.object], label, key.release);
}

/** The RBD image of volume `volume` of an opened libvirt rbd pool: its Ceph pool, monitors and auth. */
export function rbdLocation(store: { readonly poolName: string; readonly definition: PoolDefinition }, volume: string): RbdLocation {
  const def = store.definition;
  return { pool: def.sourceName ?? store.poolName, image: volume, hosts: def.hosts, ...(def.auth ? { auth: def.auth } : {}) };
}

/**
 * The data path of an rbd pool's volumes: always written from this machine by QEMU's rbd driver
 * (libvirt has no upload or download for rbd pools), whatever the connection.
 * @throws UsageError (option `transfer`) when a libvirt stream is asked for.
 */
export function rbdTransfer(mode: TransferMode, poolName: string): TransferChoice {
  if (mode === 'stream') throw new UsageError(`pool "${poolName}" is an rbd pool, which libvirt cannot upload into; its images are written from this machine by QEMU's rbd driver: choose transfer auto or local`, { option: 'transfer' });
  return { path: 'local', mode, reason: `rbd pool "${poolName}": QEMU's rbd driver writes the image from this machine, with the pool's monitors and secret` };
}
