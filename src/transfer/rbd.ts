// RBD images of a libvirt rbd pool, written and read by QEMU's own rbd driver on this machine (libvirt has no upload or download for rbd pools).
import { statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LibvirtSetupError } from '../errors.js';
import { makeTempDir } from '../journal/tracked.js';
import { lookupSecret, type Connection } from '../libvirt/index.js';
import type { NetworkHost, SourceAuth } from '../domain/model.js';
import type { PoolDefinition } from '../storage/pool-xml.js';

/** QEMU's view of one RBD image: block options, the json: filename, and the secret object holding the key. */
export interface RbdImage {
  /** QEMU BlockdevOptions: a raw format node over the rbd protocol node (pool, image, server, user, key-secret). */
  readonly node: { readonly [key: string]: unknown };
  /** `json:` + node, the filename qemu-img and qemu-nbd open. */
  readonly filename: string;
  /** `--object` values: `secret,id=ID,file=KEYFILE` when the pool logs in with a key; empty otherwise. */
  readonly objects: readonly string[];
  /** For messages: rbd:CEPHPOOL/IMAGE. */
  readonly label: string;
  /** Removes the key file and its private directory (idempotent, never throws). */
  release(): Promise<void>;
}

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

/** The private directory for key files: tmpfs (/dev/shm) when there is one, so a key never reaches a disk. */
function keyDirParent(): string {
  try {
    return statSync('/dev/shm').isDirectory() ? '/dev/shm' : tmpdir();
  } catch {
    return tmpdir();
  }
}

/**
 * Opens RBD image `loc` for QEMU: reads the key of the location's libvirt secret
 * (virSecretLookupByUUIDString / virSecretLookupByUsage, virSecretGetValue) into a 0600 file in
 * a private, journaled directory (never a command line) and returns the block options that name
 * it through a secret object (QEMU's rbd `key-secret`, base64 of the secret's raw value, as
 * libvirt hands it). Call release() as soon as QEMU is done with it.
 * @throws LibvirtSetupError (exit 4, option `pool`) when the secret does not exist or has no
 *   readable value; LibvirtError for other libvirt failures; OS errors writing the key file.
 */
export async function openRbdImage(conn: Connection, loc: RbdLocation): Promise<RbdImage> {
  const server = loc.hosts.map((h) => ({ host: h.name, ...(h.port !== undefined ? { port: String(h.port) } : {}) }));
  const file: Record<string, unknown> = { driver: 'rbd', pool: loc.pool, image: loc.image, ...(server.length > 0 ? { server } : {}), ...(loc.config ? { conf: loc.config } : {}) };
  const label = `rbd:${loc.pool}/${loc.image}`;
  if (!loc.auth) return image(file, [], label, async () => undefined);
  const key = await secretValue(conn, loc.auth);
  const { dir, release } = await makeTempDir(keyDirParent(), 'virt-ovf-key-');
  try {
    const keyFile = join(dir, 'key');
    await writeFile(keyFile, key, { mode: 0o600, flag: 'wx' });
    const id = 'virt-ovf-rbd-key';
    Object.assign(file, { user: loc.auth.username, 'key-secret': id });
    return image(file, [`secret,id=${id},format=base64,file=${keyFile}`], label, () => release().catch(() => undefined));
  } catch (err) {
    await release().catch(() => undefined);
    throw err;
  } finally {
    key.fill(0);
  }
}

function image(file: Record<string, unknown>, objects: string[], label: string, release: () => Promise<void>): RbdImage {
  const node = { driver: 'raw', file };
  let released: Promise<void> | undefined;
  return { node, filename: `json:${JSON.stringify(node)}`, objects, label, release: () => (released ??= release()) };
}

/**
 * The value of the secret `auth` names, base64-encoded as QEMU's rbd driver takes it.
 * @throws LibvirtSetupError when the secret is missing or unreadable (a private secret over a remote connection).
 */
async function secretValue(conn: Connection, auth: SourceAuth): Promise<Buffer> {
  const which = auth.uuid !== undefined ? `secret ${auth.uuid}` : `${auth.secretType} secret "${auth.usage}"`;
  const secret = lookupSecret(conn, auth.uuid !== undefined ? { uuid: auth.uuid } : { usageType: auth.secretType, usage: auth.usage ?? '' });
  if (!secret) throw new LibvirtSetupError(`libvirt ${which} of user "${auth.username}" does not exist; define it with virsh secret-define and virsh secret-set-value`, { option: 'pool' });
  try {
    const raw = await secret.value().catch((err: unknown) => {
      throw new LibvirtSetupError(`cannot read the value of libvirt ${which} (${(err as Error).message}); virt-ovf hands the key to QEMU on this machine, so the secret must be readable (not private) over this connection`, { option: 'pool', cause: err });
    });
    const encoded = Buffer.from(raw.toString('base64'));
    raw.fill(0);
    return encoded;
  } finally {
    secret.free();
  }
}

/** The RBD image of volume `volume` of an opened libvirt rbd pool: its Ceph pool, monitors and auth. */
export function rbdLocation(store: { readonly poolName: string; readonly definition: PoolDefinition }, volume: string): RbdLocation {
  const def = store.definition;
  return { pool: def.sourceName ?? store.poolName, image: volume, hosts: def.hosts, ...(def.auth ? { auth: def.auth } : {}) };
}
