// Free space, checked before anything is created: the volumes' data in the pool (or output directory), the temporary copies in the temporary directory.
import { stat } from 'node:fs/promises';
import type { Archive } from '../archive/model.js';
import { checkFreeSpace } from '../storage/free-space.js';
import type { TargetStore } from '../storage/volumes.js';
import type { TargetedDrive } from './targets.js';
import { expectsStream, type Converter } from './stream-convert.js';

/** Room the OVF-environment ISO takes beyond its files' bytes: genisoimage's system area, descriptors, path tables and directories (about 360 KiB), rounded up. */
const ISO_OVERHEAD_BYTES = 2 ** 20;

/**
 * The data bytes a drive's volume will hold: the drive record's estimate (expectedDataBytes in
 * mapping/drives.ts: ovf:populatedSize only as a hint bounded by what the stored file can expand
 * to; a gzip file's capacity when no hint is given); 0 for an empty drive. The OVF environment ISO
 * counts its size. A volume that takes its whole capacity (a disk pool's partition, a logical
 * volume: target.takesCapacity) counts its capacity, or its data when that is larger. An existing
 * volume the admin named (target.existing) takes no new room: 0.
 */
export function volumeDataBytes(drive: TargetedDrive): number {
  if (drive.target?.existing) return 0;
  const data = drive.kind === 'generated' ? isoBytes(drive.files) : drive.kind === 'file' ? drive.dataBytes : 0;
  return drive.target?.takesCapacity ? Math.max(data, drive.capacityBytes) : data;
}

/**
 * The data bytes of the temporary copies a drive needs (they are sparse: only data takes room),
 * 0 when qemu-img reads the package in place: a delta chain copies each file of the chain (their
 * stored sizes); a gzip file expands to about what its volume will hold (volumeDataBytes); a
 * chunked file is joined into at most its chunks' sizes; the OVF environment ISO is written
 * before it is converted. With the `auto` converter a file expected to stream (expectsStream)
 * needs no copy.
 */
export function temporaryDataBytes(drive: TargetedDrive, archive: Archive, converter: Converter = 'auto'): number {
  if (!drive.target) return 0;
  if (drive.kind === 'generated') return isoBytes(drive.files);
  if (drive.kind !== 'file') return 0;
  if (drive.parents.length > 0) return [drive.file, ...drive.parents.map((p) => p.file)].reduce((sum, f) => sum + (archive.find(f.href)?.size ?? f.sizeBytes ?? 0), 0);
  if (converter === 'auto' && expectsStream(drive)) return 0;
  if (drive.file.compression !== undefined) return volumeDataBytes(drive);
  return drive.stored.chunked ? drive.stored.storedBytes : 0;
}

/** Bytes of an ISO holding `files`: their contents plus ISO_OVERHEAD_BYTES. */
function isoBytes(files: readonly { readonly content: string }[]): number {
  return files.reduce((sum, f) => sum + Buffer.byteLength(f.content), ISO_OVERHEAD_BYTES);
}

/** The host directory of a store: the output directory, or a pool's target path (undefined for a pool without one). */
export function storeDir(store: TargetStore): string | undefined {
  return store.kind === 'dir' ? store.dir : store.poolPath;
}

/** True when `a` and `b` exist and lie on the same filesystem (st_dev). */
async function sameFilesystem(a: string, b: string | undefined): Promise<boolean> {
  if (b === undefined) return false;
  const [x, y] = await Promise.all([stat(a).catch(() => undefined), stat(b).catch(() => undefined)]);
  return x !== undefined && y !== undefined && x.dev === y.dev;
}

/**
 * Refuses an import whose data cannot fit, before anything is created: the volumes' data
 * (volumeDataBytes) against the pool or output directory, and the temporary copies' data
 * (temporaryDataBytes) against the filesystem of `tempDir`; when both are the same filesystem,
 * their sum against the store.
 * @throws LibvirtSetupError (exit 4) from checkFreeSpace: option `pool` (or `outputDir`) for the
 *   volumes, `tempDir` for the temporary copies.
 */
export async function checkImportSpace(drives: readonly TargetedDrive[], ctx: { archive: Archive; store: TargetStore; tempDir: string; domain: string; converter?: Converter }): Promise<void> {
  const { store } = ctx;
  const volumes = drives.reduce((sum, d) => sum + (d.target ? volumeDataBytes(d) : 0), 0);
  const temporary = drives.reduce((sum, d) => sum + temporaryDataBytes(d, ctx.archive, ctx.converter), 0);
  const target = store.kind === 'pool' ? store.pool : { dir: store.dir };
  const option = store.kind === 'pool' ? 'pool' : 'outputDir';
  // Only drives that receive data count: an empty CD-ROM or an empty disk writes nothing.
  const filled = drives.filter((d) => d.target && volumeDataBytes(d) > 0).length;
  const what = `the ${filled} drive(s) of ${ctx.domain}`;
  if (temporary > 0 && (await sameFilesystem(ctx.tempDir, storeDir(store)))) {
    await checkFreeSpace(target, volumes + temporary, `${what}, with their temporary copies in ${ctx.tempDir},`, { option });
    return;
  }
  if (temporary > 0) await checkFreeSpace({ dir: ctx.tempDir }, temporary, `temporary space for ${what}`, { option: 'tempDir' });
  if (volumes > 0) await checkFreeSpace(target, volumes, what, { option });
}
