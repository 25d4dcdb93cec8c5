// Fills one drive's target: prepare its bytes, check the image header, create the volume, qemu-img convert.
import { stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Archive } from '../archive/model.js';
import { LibvirtSetupError, ToolError } from '../errors.js';
import { makeTempDir } from '../journal/tracked.js';
import type { FileDrive, GeneratedDrive } from '../mapping/drives.js';
import type { Reporter } from '../report.js';
import { checkImage, type CheckedImage } from '../storage/image-check.js';
import { makeIso } from '../storage/iso.js';
import { isNoSpaceText, noSpaceError } from '../storage/no-space.js';
import { convertImage, imageInfo } from '../storage/qemu-img.js';
import { MAX_VIRTUAL_SIZE_BYTES } from '../storage/size-policy.js';
import { prepareDeltaChain, prepareSource, type PreparedSource } from '../storage/sources.js';
import { createTarget, type CreatedTarget, type TargetStore } from '../storage/volumes.js';
import type { Rollback } from '../rollback.js';
import { openRbdImage, rbdLocation } from '../transfer/rbd.js';
import type { DriveTarget, TargetedDrive } from './targets.js';

/** A volume import created. Sizes in bytes. */
export interface CreatedVolume {
  readonly name: string;
  readonly path: string;
  readonly format: 'qcow2' | 'raw';
  readonly capacityBytes: number;
}

/** What converting a drive needs besides the drive. */
export interface ConvertContext {
  readonly archive: Archive;
  readonly store: TargetStore;
  /** Directory for the sparse temporary copies (gzip, chunks, delta chains, the OVF environment ISO), never the store's; default os.tmpdir(). */
  readonly tempDir?: string;
  readonly rollback: Rollback;
  readonly reporter: Reporter;
  readonly signal: AbortSignal;
}

/** Bytes prepared for qemu-img, and their virtual size in bytes. */
interface Prepared {
  readonly prepared: PreparedSource;
  readonly virtualSizeBytes: number;
}

/**
 * Creates the drive's target (a pool volume or a file; registered with the rollback) and, when
 * the drive has content, converts it into the target. The volume's capacity is the larger of the
 * declared capacity and the image's virtual size.
 * @throws PackageError for a refused image; LibvirtSetupError when neither a file nor a capacity
 *   gives a size; LibvirtError / ToolError when creation or conversion fails; the signal's reason.
 */
export async function convertDrive(drive: TargetedDrive & { readonly target: DriveTarget }, ctx: ConvertContext): Promise<CreatedVolume> {
  const { target, placed } = drive;
  const source = drive.kind === 'file' ? await prepareFile(drive, ctx) : drive.kind === 'generated' ? await prepareGenerated(drive, ctx.tempDir) : undefined;
  try {
    const capacityBytes = Math.max(drive.capacityBytes, source?.virtualSizeBytes ?? 0);
    if (capacityBytes === 0) throw new LibvirtSetupError(`${placed.device} ${placed.instanceId ?? drive.volumeBase} has neither a file nor a capacity`);
    const created = await createJournaled(ctx, target, capacityBytes);
    if (source) {
      const { reporter } = ctx;
      const name = target.name;
      // An rbd volume is written by QEMU's rbd driver, its key in a 0600 file while qemu-img runs.
      const rbd = target.transfer === 'qemu-rbd' && ctx.store.kind === 'pool' ? await openRbdImage(ctx.store.conn, rbdLocation(ctx.store, target.name)) : undefined;
      // progress-end also on failure, so a bar never outlives its task (the rollback lines come after it).
      await convertImage({
        src: source.prepared.source,
        target: rbd?.filename ?? created.path,
        targetFormat: target.format,
        existingTarget: true,
        ...(rbd ? { objects: rbd.objects } : {}),
        signal: ctx.signal,
        onProgress: (pct) => {
          // qemu-img read the key file when it parsed --object, before its first progress line.
          void rbd?.release();
          reporter.emit({ kind: 'progress', task: 'convert', name, bytesDone: Math.round((pct / 100) * capacityBytes), bytesTotal: capacityBytes });
        },
      }).finally(async () => {
        await rbd?.release();
        reporter.emit({ kind: 'progress-end', task: 'convert', name });
      });
    }
    return { name: target.name, path: created.path, format: target.format, capacityBytes };
  } finally {
    await source?.prepared.release();
  }
}

/**
 * Creates the target (createTarget) recorded first in the run journal (a pool volume, or a file
 * in the output directory), and registers its removal with the rollback.
 * @throws what createTarget throws (the journal entry is dropped: nothing was made).
 */
async function createJournaled(ctx: ConvertContext, target: DriveTarget, capacityBytes: number): Promise<CreatedTarget> {
  const { store, rollback } = ctx;
  const entry = rollback.record(
    store.kind === 'pool'
      ? { kind: 'volume', pool: store.poolName, name: target.name, ...(store.poolPath !== undefined ? { path: join(store.poolPath, target.name) } : {}) }
      : { kind: 'file', path: join(store.dir, target.name) },
  );
  let created: CreatedTarget;
  try {
    created = await createTarget(store, target.name, target.format, capacityBytes, { ...(target.volumeFormatType !== undefined ? { volumeFormatType: target.volumeFormatType } : {}), ...(target.partitionOf ? { partitionOf: target.partitionOf } : {}) });
  } catch (err) {
    rollback.dropped(entry);
    throw err;
  }
  const st = created.path.startsWith('/') ? await stat(created.path).catch(() => undefined) : undefined; // rbd: CEPHPOOL/IMAGE, no file
  rollback.created(entry, st && { dev: st.dev, ino: st.ino });
  rollback.add(`${store.kind === 'pool' ? 'volume' : 'file'} ${target.name}`, () => created.remove(), entry);
  return created;
}

/**
 * The file's bytes for qemu-img (in place, or joined/decompressed, or a delta chain placed in a
 * private directory), after checkImage read the header: extents, backing files, data files,
 * differencing disks and absurd sizes are refused before qemu-img opens it (hostile input).
 */
async function prepareFile(drive: FileDrive, ctx: ConvertContext): Promise<Prepared> {
  const { archive, signal, tempDir } = ctx;
  const temp = tempDir ? { tempDir } : {};
  let checked: CheckedImage | undefined;
  let prepared: PreparedSource;
  if (drive.parents.length > 0) {
    prepared = await prepareDeltaChain(archive, drive.file, drive.parents, {
      ...temp,
      signal,
      check: async (src, isDelta) => {
        const parentOrChild = await checkImage(src, { declaredFormat: 'vmdk', allowParentHint: isDelta, signal });
        checked ??= parentOrChild; // the delta itself is checked first
        return parentOrChild;
      },
    });
  } else {
    const format = drive.format!;
    // A Disk without ovf:capacity (Ganeti) bounds a decompressed copy by the largest size an image may claim.
    const maxBytes = drive.capacityBytes > 0 ? Math.ceil(drive.capacityBytes * 1.1) + 64 * 2 ** 20 : MAX_VIRTUAL_SIZE_BYTES;
    prepared = await prepareSource(archive, { file: drive.file, stored: drive.stored, format }, { ...temp, maxBytes, signal });
  }
  try {
    if (!checked) {
      checked = await checkImage(prepared.source, { declaredFormat: prepared.source.format, ...(drive.capacityBytes > 0 ? { capacityBytes: drive.capacityBytes } : {}), signal });
      for (const w of checked.warnings) ctx.reporter.emit({ kind: 'warning', message: w });
    }
    return { prepared, virtualSizeBytes: await probedSize(prepared, checked, signal) };
  } catch (err) {
    await prepared.release();
    throw err;
  }
}

/**
 * Has qemu-img open the checked image once under resource limits (imageInfo: CPU time, address
 * space, timeout), so an image that makes qemu's own parser spin or balloon is killed there and
 * not in the unlimited convert. The virtual size is the header's (checkImage), except for VHD:
 * qemu takes the footer's current size or the CHS geometry depending on the creator application
 * (block/vpc.c) while checkImage reports the larger, so only qemu-img knows the size it will copy.
 * @throws ToolError when qemu-img cannot open the image or a limit kills it.
 */
async function probedSize(prepared: PreparedSource, checked: CheckedImage, signal: AbortSignal): Promise<number> {
  const info = await imageInfo(prepared.source, { signal });
  return checked.format === 'vpc' ? info.virtualSizeBytes : checked.virtualSizeBytes;
}

/** Writes the generated files (ovf-env.xml) onto an ISO in a private directory in `dir` (default os.tmpdir()); a raw image, its size its virtual size. */
async function prepareGenerated(drive: GeneratedDrive, dir: string | undefined): Promise<Prepared> {
  const { dir: work, release } = await makeTempDir(dir ?? tmpdir(), 'virt-ovf-');
  const path = join(work, `${drive.content}.iso`);
  try {
    await makeIso(path, drive.volumeLabel, drive.files).catch(async (err: unknown) => {
      if (err instanceof ToolError && isNoSpaceText(err.stderr)) throw await noSpaceError(err, { path, what: err.message, remedy: 'choose another temporary directory', option: 'tempDir' });
      throw err;
    });
    const { size } = await stat(path);
    return { prepared: { source: { path, offset: 0, size, format: 'raw', label: `the ${drive.content} ISO` }, temporary: true, release }, virtualSizeBytes: size };
  } catch (err) {
    await release();
    throw err;
  }
}
