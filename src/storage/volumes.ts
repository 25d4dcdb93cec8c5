// Target volumes: libvirt storage pool volumes (virStorageVolCreateXML) or files in --output-dir.
import { constants } from 'node:fs';
import { access, lstat, open, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { create } from 'xmlbuilder2';
import { LibvirtError, LibvirtSetupError } from '../errors.js';
import type { Connection, StoragePool, StorageVolume } from '../libvirt/index.js';
import { isUnreachable, lookupPool, onAnsweringConnection } from '../libvirt/index.js';
import type { DomainDiskSource } from '../domain/model.js';
import { serializeXml } from '../xml/write.js';
import { removePartition } from './partition.js';
import { parsePoolXml, type PoolDefinition } from './pool-xml.js';
import { createImage } from './qemu-img.js';

/** A created target: the host path qemu-img writes, the domain's <source>, and how to remove it. */
export interface CreatedTarget {
  readonly path: string;
  readonly format: 'qcow2' | 'raw';
  readonly source: DomainDiskSource;
  remove(): Promise<void>;
}

/** Where volumes go: a libvirt pool, or a plain directory. */
export type TargetStore =
  | {
      readonly kind: 'pool';
      readonly conn: Connection;
      readonly pool: StoragePool;
      readonly poolName: string;
      readonly poolType: string;
      /** <target><path>: the directory (or /dev) holding the volumes, when the pool has one. */
      readonly poolPath?: string;
      /** The pool's definition: its source (devices, hosts, auth). */
      readonly definition: PoolDefinition;
      /** The pool's path is not this machine's (a remote host, src/transfer/choose.ts): its files are never removed directly. */
      readonly notHere?: boolean;
    }
  | { readonly kind: 'dir'; readonly dir: string };

/** virErrorNumber VIR_ERR_NO_SUPPORT: the connection has no storage driver (e.g. qemu:///embed). */
const VIR_ERR_NO_SUPPORT = 3;

/**
 * Looks up and checks the pool (virStoragePoolLookupByName), returning its type and target path.
 * @throws LibvirtSetupError saying how to create the pool when it is missing (option `pool`) or
 *   inactive, or that a directory must be used when the connection has no storage driver (option `outputDir`).
 */
export async function openPool(conn: Connection, name: string): Promise<TargetStore> {
  let pool: StoragePool | null;
  try {
    pool = lookupPool(conn, name);
  } catch (err) {
    if (err instanceof LibvirtError && err.code === VIR_ERR_NO_SUPPORT) {
      throw new LibvirtSetupError(`this connection has no storage driver (${err.message}); write the disks into a directory instead`, { option: 'outputDir' });
    }
    throw err;
  }
  const howTo = `create one with: virsh pool-define-as ${name} dir --target /var/lib/libvirt/images && virsh pool-build ${name} && virsh pool-start ${name} && virsh pool-autostart ${name}, or write the disks into a directory, or choose another pool`;
  if (!pool) throw new LibvirtSetupError(`storage pool "${name}" does not exist; ${howTo}`, { option: 'pool' });
  if (!pool.isActive()) throw new LibvirtSetupError(`storage pool "${name}" is not active; start it with: virsh pool-start ${name}`);
  const definition = parsePoolXml(await pool.xml());
  const poolPath = definition.targetPath;
  return { kind: 'pool', conn, pool, poolName: name, poolType: definition.type, definition, ...(poolPath ? { poolPath } : {}) };
}

/**
 * Volume XML for virStorageVolCreateXML; capacity in bytes; sparse (allocation 0). `formatType`
 * is the <target><format type> (pools.json volumeFormatType: a partition type on a disk pool);
 * null writes no <format>.
 */
export function volumeXml(name: string, formatType: string | null, capacityBytes: number): string {
  const doc = create().ele('volume');
  doc.ele('name').txt(name);
  doc.ele('allocation', { unit: 'bytes' }).txt('0');
  doc.ele('capacity', { unit: 'bytes' }).txt(String(capacityBytes));
  const target = doc.ele('target');
  if (formatType !== null) target.ele('format', { type: formatType });
  return serializeXml(doc, { headless: true });
}

/** True when a volume (or file) of that name already exists in the store. */
export async function targetExists(store: TargetStore, name: string): Promise<boolean> {
  if (store.kind === 'pool') {
    const vol = store.pool.lookupVolume(name);
    vol?.free();
    return vol !== null;
  }
  return access(join(store.dir, name), constants.F_OK).then(
    () => true,
    () => false,
  );
}

/** How a pool volume is created: its <format type> and, in a disk pool, the disk it is a partition of. */
export interface VolumeOptions {
  /** The volume XML's <target><format type> (pools.json volumeFormatType); null: none; default: the format. */
  readonly volumeFormatType?: string | null;
  /** The pool's source disk when the volume is a partition of it (pools.json volumeName partition). */
  readonly partitionOf?: string;
}

/**
 * Creates an empty target of `capacityBytes` (virStorageVolCreateXML, or qemu-img create in a
 * directory). Never overwrites: an existing name is an error. `volumeFormatType` is the volume
 * XML's <format type> (default: `format`; null: none); `partitionOf`, the disk of a disk pool
 * whose volumes are its partitions. The path of a pool volume is what
 * virStorageVolGetPath says (a file, a block device, or CEPHPOOL/IMAGE for rbd).
 * @throws LibvirtSetupError (option `name`) when the name is taken; LibvirtError / ToolError when creation fails.
 */
export async function createTarget(store: TargetStore, name: string, format: 'qcow2' | 'raw', capacityBytes: number, opts: VolumeOptions = {}): Promise<CreatedTarget> {
  const volumeFormatType = opts.volumeFormatType === undefined ? format : opts.volumeFormatType;
  if (store.kind === 'pool') {
    if (await targetExists(store, name)) throw new LibvirtSetupError(`volume "${name}" already exists in pool "${store.poolName}"; choose another domain name`, { option: 'name' });
    const poolStore = store;
    let vol: StorageVolume;
    try {
      vol = await store.pool.createVolume(volumeXml(name, volumeFormatType, capacityBytes));
    } catch (err) {
      // Given up (interrupt, deadline) or the daemon died: the volume may exist; remove its file if it does.
      if (store.pool.health !== 'alive' && store.poolPath !== undefined) await removeLocalVolume(store, join(store.poolPath, name)).catch(() => undefined);
      throw err;
    }
    const path = vol.path();
    return {
      path,
      format,
      source: { type: 'volume', pool: store.poolName, volume: name },
      remove: () => removePoolVolume(poolStore, vol, name, path, opts.partitionOf),
    };
  }
  const path = join(store.dir, name);
  // Reserve the name atomically (O_EXCL) before qemu-img writes the image over it.
  const reserve = await open(path, 'wx', 0o600).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EEXIST') throw new LibvirtSetupError(`${path} already exists; choose another domain name`, { option: 'name' });
    throw err;
  });
  await reserve.close();
  const remove = () => rm(path, { force: true });
  try {
    await createImage(path, format, capacityBytes);
  } catch (err) {
    await remove();
    throw err;
  }
  return { path, format, source: { type: 'file', path }, remove };
}

/**
 * Undo of a volume this run created: virStorageVolDelete on the run's connection, or on a fresh
 * one when libvirtd died and came back (onAnsweringConnection); when libvirt cannot be reached,
 * a volume that is a regular file inside the pool's target directory is removed directly. A
 * partition libvirt fails to delete (`partitionOf`) is removed with parted (partition.ts).
 * @throws LibvirtError when libvirt fails; when it cannot be reached and the volume is not a
 *   local file, an error saying the volume is kept for `virt-ovf cleanup`.
 */
async function removePoolVolume(store: TargetStore & { kind: 'pool' }, vol: StorageVolume, name: string, path: string, partitionOf?: string): Promise<void> {
  try {
    await onAnsweringConnection(store.conn, async (conn) => {
      if (conn === store.conn) return vol.delete();
      const again = lookupPool(conn, store.poolName)?.lookupVolume(name);
      await again?.delete();
    });
  } catch (err) {
    // libvirt 9 cannot delete the partitions of a disk whose name ends in a digit (loop0p2, nvme0n1p2): parted does it here.
    if (partitionOf !== undefined && err instanceof LibvirtError && (await removePartition(partitionOf, path))) {
      await store.pool.refresh().catch(() => undefined);
      return;
    }
    if (!isUnreachable(err)) throw err;
    if (await removeLocalVolume(store, path)) return;
    throw new Error(`${(err as Error).message}; volume "${name}" (${path}) in pool "${store.poolName}" is kept for virt-ovf cleanup`, { cause: err });
  } finally {
    vol.free();
  }
}

/** Removes `path` when it is a regular file directly inside the pool's target directory (a dir/fs/netfs pool's volume); false otherwise. */
async function removeLocalVolume(store: TargetStore & { kind: 'pool' }, path: string): Promise<boolean> {
  if (store.notHere || store.poolPath === undefined || dirname(path) !== store.poolPath.replace(/\/+$/, '')) return false;
  const st = await lstat(path).catch(() => undefined);
  if (!st?.isFile()) return false;
  await rm(path, { force: true });
  return true;
}
