// The streaming path of import: a streamOptimized VMDK or a raw disk (either maybe gzip-compressed
// or chunked) read once, front to back, and decoded straight into the volume — a raw file by
// positioned writes (RawFileSink), anything else through qemu-nbd (NbdSink) — with no temporary
// bytes. What it cannot stream goes back to convert.ts, which runs qemu-img.
import { stat } from 'node:fs/promises';
import { NoSpaceError, PackageError } from '../errors.js';
import type { FileDrive } from '../mapping/drives.js';
import { isNoSpaceErrno, noSpaceError } from '../storage/no-space.js';
import { copyRaw } from '../storage/raw-copy.js';
import { RawFileSink } from '../storage/raw-file-sink.js';
import type { DiskSink } from '../storage/sink.js';
import { virtualSizeProblem } from '../storage/size-policy.js';
import { TARGET_FULL } from '../storage/qemu-img.js';
import type { CreatedTarget, TargetStore } from '../storage/volumes.js';
import { openStreamOptimized, type StreamOptimizedImage } from '../storage/vmdk-stream/index.js';
import { NbdSink } from '../transfer/nbd-sink.js';
import { Qcow2FileSink } from '../transfer/qcow2-file-sink.js';
import { isPoolDriver, openDriverSink } from '../transfer/pool-driver.js';
import type { DriveTarget, TargetedDrive } from './targets.js';

/** Which converter fills a drive's volume: `auto` streams what it can (see convertDrive), `qemu-img` converts every disk with qemu-img. */
export type Converter = 'auto' | 'qemu-img';

/**
 * True when a file drive is expected to stream with the auto converter (no temporary copy): a
 * VMDK (streamOptimized, told by its header once read; another VMDK is spilled then, with its
 * own space check) or a raw disk whose size is known beforehand (not gzip-compressed, or with
 * an ovf:capacity); never a delta chain.
 */
export function expectsStream(drive: FileDrive): boolean {
  if (drive.parents.length > 0) return false;
  return drive.format === 'vmdk' || (drive.format === 'raw' && (drive.file.compression === undefined || drive.capacityBytes > 0));
}

/**
 * True when the auto converter may stream `drive` through qemu-nbd, whose socket lives in a
 * private directory of the temporary directory: a file expected to stream into a volume that is
 * not raw (a raw file is written in place; a new qcow2 file is too, by the encoder, until its
 * ranges go back: Qcow2FileSink).
 */
export function streamsThroughQemuNbd(drive: TargetedDrive, converter: Converter = 'auto'): boolean {
  return converter === 'auto' && drive.kind === 'file' && drive.target !== undefined && drive.target.format !== 'raw' && expectsStream(drive);
}

/** A disk the streaming path will decode: its bytes, opened once, and the virtual size in bytes. */
export interface StreamPlan {
  readonly kind: 'vmdk' | 'raw';
  readonly virtualSizeBytes: number;
  /** Starts decoding into `sink`; resolves once the sink finished (the decoder calls finish/abort). */
  decodeInto(sink: DiskSink, opts: { signal: AbortSignal; onProgress: () => void }): Promise<void>;
}

/**
 * Opens the streamOptimized VMDK in `bytes` (its lead-in is read and checked now, so the volume
 * can be created with its capacity).
 * @throws PackageError for a refused header (the decoder's checks); NotStreamableError for a
 *   layout only qemu-img can follow.
 */
export async function planVmdk(bytes: AsyncIterable<Uint8Array>, drive: FileDrive, signal: AbortSignal): Promise<StreamPlan> {
  const image: StreamOptimizedImage = await openStreamOptimized(bytes, { label: `"${drive.file.href}"`, signal, ...(drive.capacityBytes > 0 ? { declaredCapacityBytes: drive.capacityBytes } : {}) });
  return {
    kind: 'vmdk',
    virtualSizeBytes: image.capacityBytes,
    decodeInto: async (sink, opts) => void (await image.decodeInto(sink, { signal: opts.signal, onProgress: opts.onProgress })),
  };
}

/**
 * A raw disk of `virtualSizeBytes` in `bytes` (copyRaw: zero blocks become holes; more bytes than
 * that are refused).
 * @throws PackageError when the size is absurd against the declared capacity (size-policy.ts).
 */
export function planRaw(bytes: AsyncIterable<Uint8Array>, drive: FileDrive, virtualSizeBytes: number): StreamPlan {
  const problem = virtualSizeProblem(virtualSizeBytes, drive.capacityBytes > 0 ? drive.capacityBytes : undefined);
  if (problem) throw new PackageError(`File "${drive.file.href}": ${problem}`, { file: drive.file.href });
  return {
    kind: 'raw',
    virtualSizeBytes,
    decodeInto: async (sink, opts) =>
      void (await copyRaw(bytes, sink, { capacityBytes: virtualSizeBytes, label: `File "${drive.file.href}"`, signal: opts.signal, onProgress: opts.onProgress })),
  };
}

/**
 * The sink for a created target: a raw regular file written in place (RawFileSink: holes stay
 * holes), a new qcow2 file by the sequential encoder in place (Qcow2FileSink, qemu-nbd once the
 * ranges go back), anything else (a block device) through qemu-nbd on the volume (NbdSink: it
 * may hold old data and gets its zero ranges written).
 * @throws the OS error opening the file; ToolError when qemu-nbd cannot serve the volume.
 */
export async function openTargetSink(created: CreatedTarget, target: DriveTarget, capacityBytes: number, signal: AbortSignal, store?: TargetStore): Promise<DiskSink> {
  const label = `volume "${target.name}"`;
  // An rbd image or iscsi-direct LUN: the pool type's QEMU driver behind qemu-nbd, with the pool's secret.
  if (isPoolDriver(target.transfer) && store?.kind === 'pool') return openDriverSink(target.transfer, store, target.name, { path: created.path, label, signal, ...(target.existing ? { holdsData: true } : {}) });
  const st = await stat(created.path);
  // A volume just created reads as zeros; an existing one the admin named may hold old data.
  if (target.format === 'raw' && st.isFile()) return RawFileSink.open(created.path, { capacityBytes, label, zeroedTarget: target.existing !== true });
  // A new qcow2 file: the sequential encoder writes it in place (qemu-nbd only if the ranges go back).
  if (target.format === 'qcow2' && st.isFile() && !target.existing) return Qcow2FileSink.open(created.path, { capacityBytes, label: `${label} (qcow2 encoder)`, signal });
  return NbdSink.open({ kind: 'path', path: created.path, format: target.format }, { zeroInitialized: target.format === 'qcow2' && st.isFile(), label: `${label} (qemu-nbd, ${target.format})`, signal });
}

/** A write into the volume that failed for want of space, as NoSpaceError (exit 5) naming the volume's filesystem; anything else unchanged. */
export async function targetFailure(err: unknown, created: CreatedTarget, signal: AbortSignal): Promise<unknown> {
  if (signal.aborted) return signal.reason;
  if (err instanceof NoSpaceError || !isNoSpaceErrno(err)) return err;
  return noSpaceError(err, { path: created.path, what: `writing the disk failed: ${(err as Error).message}`, remedy: TARGET_FULL });
}
