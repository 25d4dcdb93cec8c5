// Fills one drive's target: streamed straight into the volume when it can be, else prepare its bytes, check the image header, create the volume, qemu-img convert.
import type { Archive } from '../archive/model.js';
import { LibvirtSetupError } from '../errors.js';
import type { FileDrive } from '../mapping/drives.js';
import type { Reporter } from '../report.js';
import { convertImage } from '../storage/qemu-img.js';
import { checkCompression, imageBytes, peek, storedBytes } from '../storage/stored-stream.js';
import { isStreamOptimized, NotStreamableError } from '../storage/vmdk-stream/index.js';
import type { StreamedDigests } from './digests.js';
import { openTargetSink, planRaw, planVmdk, targetFailure, type Converter, type StreamPlan } from './stream-convert.js';
export type { Converter } from './stream-convert.js';
import type { TargetStore } from '../storage/volumes.js';
import { expandedLimit, prepareFile, prepareGenerated, probedSize, spillFile, type Prepared } from './prepare.js';
import { createJournaled } from './create-volume.js';
import type { Rollback } from '../rollback.js';
import { isPoolDriver, openDriverImage } from '../transfer/pool-driver.js';
import { openVolumeSink, transferOf, uploadReported } from '../transfer/upload.js';
import type { DriveTarget, TargetedDrive } from './targets.js';

/** Bytes read to tell a format by its header (a VMDK sparse extent header is one sector). */
const SECTOR_BYTES = 512;

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
  /** 'auto' (default): stream what can be streamed (streamOptimized VMDK, raw), qemu-img for the rest; 'qemu-img': qemu-img for every disk. */
  readonly converter?: Converter;
  /** Digests of the members read as streams, for the manifest check (single pass); undefined: nobody wants them. */
  readonly digests?: StreamedDigests;
  /** How the bytes reach a pool volume (src/transfer/choose.ts); default: written here. */
  readonly transfer?: import('../transfer/choose.js').TransferChoice;
}

/**
 * Creates the drive's target (a pool volume or a file; registered with the rollback) and, when
 * the drive has content, fills it. The volume's capacity is the larger of the declared capacity
 * and the image's virtual size. A file drive that is a streamOptimized VMDK or raw (maybe gzip
 * or chunked) is read once and decoded straight into the volume (stream-convert.ts); anything
 * else goes through qemu-img. `input`, when given, supplies the file's stored bytes (still
 * gzip-compressed if the file is) instead of the archive, e.g. from a sequential read of the
 * package; a format that needs random access is then spilled to a sparse temporary file.
 * @throws PackageError for a refused image; LibvirtSetupError when neither a file nor a capacity
 *   gives a size; LibvirtError / ToolError when creation or conversion fails; NoSpaceError when
 *   the volume's or the temporary directory's filesystem fills up; the signal's reason.
 */
export async function convertDrive(drive: TargetedDrive & { readonly target: DriveTarget }, ctx: ConvertContext, input?: AsyncIterable<Uint8Array>): Promise<CreatedVolume> {
  if (drive.kind === 'file') {
    try {
      return await convertFile(drive, ctx, input);
    } finally {
      ctx.digests?.handBack(drive.stored.parts.map((p) => p.name));
    }
  }
  return convertPrepared(drive, ctx, drive.kind === 'generated' ? await prepareGenerated(drive, ctx.tempDir) : undefined);
}

/** Creates the target and has qemu-img convert `source` into it (none: an empty volume); releases the source. */
async function convertPrepared(drive: TargetedDrive & { readonly target: DriveTarget }, ctx: ConvertContext, source: Prepared | undefined): Promise<CreatedVolume> {
  const { target } = drive;
  try {
    const capacityBytes = capacityOf(drive, source?.virtualSizeBytes ?? 0);
    const created = await createJournaled(ctx, target, capacityBytes);
    const { reporter, store } = ctx;
    if (source && !isPoolDriver(target.transfer) && (await transferOf(ctx.transfer, store, target.name, created.path, reporter)) === 'stream') {
      await uploadReported({ store, volumeName: target.name, format: target.format, capacityBytes, source: source.prepared.source, signal: ctx.signal, reporter, ...(target.existing ? { holdsData: true } : {}) });
    } else if (source) {
      const name = target.name;
      // An rbd image or iSCSI LUN is written by the pool type's QEMU driver, its key or password in a 0600 file while qemu-img runs.
      const driver = isPoolDriver(target.transfer) && ctx.store.kind === 'pool' ? await openDriverImage(target.transfer, ctx.store, target.name, created.path) : undefined;
      // progress-end also on failure, so a bar never outlives its task (the rollback lines come after it).
      await convertImage({
        src: source.prepared.source,
        target: driver?.filename ?? created.path,
        targetFormat: target.format,
        existingTarget: true,
        // A new RBD image reads as zeros: qemu-img writes no zeros into it (an existing volume or LUN may hold old data).
        ...(driver ? { objects: driver.objects, targetIsZero: target.existing !== true } : {}),
        signal: ctx.signal,
        onProgress: (pct) => {
          // qemu-img read the key file when it parsed --object, before its first progress line.
          void driver?.release();
          reporter.emit({ kind: 'progress', task: 'convert', name, bytesDone: Math.round((pct / 100) * capacityBytes), bytesTotal: capacityBytes });
        },
      }).finally(async () => {
        await driver?.release();
        reporter.emit({ kind: 'progress-end', task: 'convert', name });
      });
    }
    return { name: target.name, path: created.path, format: target.format, capacityBytes };
  } finally {
    await source?.prepared.release();
  }
}

/** The volume's capacity: the declared one or the image's virtual size, the larger. */
function capacityOf(drive: TargetedDrive, virtualSizeBytes: number): number {
  const capacityBytes = Math.max(drive.capacityBytes, virtualSizeBytes);
  if (capacityBytes === 0) throw new LibvirtSetupError(`${drive.placed.device} ${drive.placed.instanceId ?? drive.volumeBase} has neither a file nor a capacity`);
  return capacityBytes;
}

/**
 * A file drive: streamed when it can be (see convertDrive), else qemu-img on the member in place,
 * on a delta chain, or on a temporary copy. The bytes are read once: the stream opened for the
 * header is the one decoded or spilled.
 */
async function convertFile(drive: FileDrive & { readonly target: DriveTarget }, ctx: ConvertContext, input: AsyncIterable<Uint8Array> | undefined): Promise<CreatedVolume> {
  checkCompression(drive.file);
  const local = input === undefined && (ctx.archive as { readonly local?: boolean }).local !== false;
  const plain = drive.file.compression === undefined && !drive.stored.chunked;
  if (local && (drive.parents.length > 0 || ctx.converter === 'qemu-img')) return convertPrepared(drive, ctx, await prepareFile(drive, ctx));
  let storedRead = 0;
  const counted = async function* (bytes: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of bytes) yield ((storedRead += chunk.length), chunk);
  };
  // An uncompressed file is read into reused buffers; spillFile copies what it keeps.
  const stored = counted(storedBytes(ctx.archive, drive.stored, { ...(input ? { input } : {}), ...(ctx.digests ? { taps: ctx.digests } : {}), reuse: drive.file.compression === undefined }));
  const opened = await peek(imageBytes(drive.file, stored, expandedLimit(drive)), SECTOR_BYTES);
  let plan: StreamPlan | 'reread' | undefined;
  let inPlace: Prepared | undefined;
  try {
    if (local && plain) {
      // The header and table checks over the member in place, as for qemu-img (hostile input).
      inPlace = await prepareFile(drive, ctx, { probe: false });
    }
    plan = ctx.converter === 'qemu-img' ? undefined : await streamPlan(drive, opened.head, opened.bytes, local, ctx.signal, inPlace?.checked!.virtualSizeBytes);
  } catch (err) {
    await opened.iterator.return?.();
    await inPlace?.prepared.release();
    throw err;
  }
  if (plan === 'reread') {
    // A VMDK only qemu-img can follow, partly read already: qemu-img reads it again from the package.
    await opened.iterator.return?.();
    return convertPrepared(drive, ctx, inPlace ? { ...inPlace, virtualSizeBytes: await probedSize(inPlace.prepared, inPlace.checked!, ctx.signal) } : await prepareFile(drive, ctx));
  }
  if (!plan) {
    if (inPlace) {
      await opened.iterator.return?.();
      return convertPrepared(drive, ctx, { ...inPlace, virtualSizeBytes: await probedSize(inPlace.prepared, inPlace.checked!, ctx.signal) });
    }
    return convertPrepared(drive, ctx, await spillFile(drive, ctx, opened.bytes));
  }
  return decodeFile(drive, ctx, plan, { total: drive.stored.storedBytes, read: () => storedRead, rest: opened.iterator });
}

/**
 * How the file streams: a streamOptimized VMDK, a raw disk of known size (in place: the checked
 * size `inPlaceBytes`; chunked; or gzip with an ovf:capacity); undefined for everything else
 * (qemu-img). A VMDK only a seeking reader can follow (NotStreamableError) is 'reread' when the
 * package can be read again (`rereadable`), else refused.
 */
async function streamPlan(drive: FileDrive, head: Buffer, bytes: AsyncIterable<Uint8Array>, rereadable: boolean, signal: AbortSignal, inPlaceBytes?: number): Promise<StreamPlan | 'reread' | undefined> {
  if (drive.format === 'vmdk' && isStreamOptimized(head)) {
    return planVmdk(bytes, drive, signal).catch((err: unknown) => {
      if (err instanceof NotStreamableError && rereadable) return 'reread' as const;
      throw err;
    });
  }
  if (drive.format !== 'raw') return undefined;
  const size = inPlaceBytes ?? (drive.file.compression === undefined ? drive.stored.storedBytes : drive.capacityBytes);
  return size > 0 ? planRaw(bytes, drive, size) : undefined;
}

/** Creates the volume and decodes the plan into it; reads what the decoder left of the file (for its digest). */
async function decodeFile(drive: FileDrive & { readonly target: DriveTarget }, ctx: ConvertContext, plan: StreamPlan, progress: { total: number; read: () => number; rest: AsyncIterator<Uint8Array> }): Promise<CreatedVolume> {
  const { target } = drive;
  const { reporter, signal, store } = ctx;
  const capacityBytes = capacityOf(drive, plan.virtualSizeBytes);
  const created = await createJournaled(ctx, target, capacityBytes).catch(async (err: unknown) => {
    await progress.rest.return?.();
    throw err;
  });
  const name = target.name;
  const onProgress = (): void => reporter.emit({ kind: 'progress', task: 'convert', name, bytesDone: progress.read(), bytesTotal: progress.total });
  try {
    // An rbd image or iscsi-direct LUN is written from here by the pool type's QEMU driver (libvirt has no upload for them).
    const stream = store.kind === 'pool' && !isPoolDriver(target.transfer) && (await transferOf(ctx.transfer, store, name, created.path, reporter)) === 'stream';
    const sink = stream ? await openVolumeSink({ ...store, volumeName: name, format: target.format, capacityBytes, ...(target.existing ? { holdsData: true } : {}) }) : await openTargetSink(created, target, capacityBytes, signal, store);
    await plan.decodeInto(sink, { signal, onProgress });
    reporter.emit({ kind: 'debug', message: `${sink.label}: ${sink.bytesWritten} bytes of data written` });
    // The decoder read the image to its end; what follows (nothing, or zeros) still counts for the digest.
    while (!(await progress.rest.next()).done) signal.throwIfAborted();
  } catch (err) {
    await progress.rest.return?.();
    throw await targetFailure(err, created, signal);
  } finally {
    reporter.emit({ kind: 'progress-end', task: 'convert', name });
  }
  return { name, path: created.path, format: target.format, capacityBytes };
}
