// Target volumes: libvirt storage pool volumes (virStorageVolCreateXML) or files in --output-dir.
import { constants } from 'node:fs';
import { access, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { create } from 'xmlbuilder2';
import { LibvirtError, LibvirtSetupError } from '../errors.js';
import type { Connection, StoragePool } from '../libvirt/index.js';
import { lookupPool } from '../libvirt/index.js';
import type { DomainDiskSource } from '../domain/model.js';
import { serializeXml } from '../xml/write.js';
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
  | { readonly kind: 'pool'; readonly pool: StoragePool; readonly poolName: string; readonly poolType: string; readonly poolPath?: string }
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
  const xml = await pool.xml();
  const poolType = /<pool\s+type=['"]([^'"]+)['"]/.exec(xml)?.[1] ?? 'unknown';
  const poolPath = /<target>\s*<path>([^<]+)<\/path>/.exec(xml)?.[1];
  return { kind: 'pool', pool, poolName: name, poolType, ...(poolPath ? { poolPath } : {}) };
}

/** Volume XML for virStorageVolCreateXML; capacity in bytes; sparse (allocation 0). */
export function volumeXml(name: string, format: 'qcow2' | 'raw', capacityBytes: number): string {
  const doc = create().ele('volume');
  doc.ele('name').txt(name);
  doc.ele('allocation', { unit: 'bytes' }).txt('0');
  doc.ele('capacity', { unit: 'bytes' }).txt(String(capacityBytes));
  doc.ele('target').ele('format', { type: format });
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

/**
 * Creates an empty target of `capacityBytes` (virStorageVolCreateXML, or qemu-img create in a
 * directory). Never overwrites: an existing name is an error.
 * @throws LibvirtSetupError (option `name`) when the name is taken; LibvirtError / ToolError when creation fails.
 */
export async function createTarget(store: TargetStore, name: string, format: 'qcow2' | 'raw', capacityBytes: number): Promise<CreatedTarget> {
  if (store.kind === 'pool') {
    if (await targetExists(store, name)) throw new LibvirtSetupError(`volume "${name}" already exists in pool "${store.poolName}"; choose another domain name`, { option: 'name' });
    const vol = await store.pool.createVolume(volumeXml(name, format, capacityBytes));
    const path = vol.path();
    return {
      path,
      format,
      source: { type: 'volume', pool: store.poolName, volume: name },
      remove: async () => {
        try {
          await vol.delete();
        } finally {
          vol.free();
        }
      },
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
