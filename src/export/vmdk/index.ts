// Stream-optimized VMDK writer: reads a disk image of any format qemu reads, deflates its
// non-zero 64 KiB grains on worker threads and emits a complete streamOptimized VMDK (VMware
// "Virtual Disk Format 1.1", "Stream-Optimized Compressed Sparse Extents") strictly in order,
// without seeking, to a caller-supplied sink (an OVA member, a hash, a file).

import { availableParallelism } from 'node:os';
import type { ImageFormat, ImageInfo } from '../../storage/qemu-img.js';
import { imageMap, type MapExtent } from '../../storage/qemu-img-map.js';
import { grainBatches, type GrainBatch } from './batches.js';
import { DeflatePool, type CompressedBatch } from './deflate-pool.js';
import { collectEvery } from './gc.js';
import type { VmdkAdapter } from '../../mapping/schema/export.js';
import { encodeLeadIn, GRAIN_BYTES, GRAIN_SECTORS, SECTOR } from './format.js';
import { openGuestReader, type GuestReader, type ServedDisk } from './guest-reader.js';
import { StreamLayout } from './layout.js';


/** The disk image to export. */
export interface DiskSource {
  /** Host path of the image (a regular file or a block device). */
  path: string;
  /** Its format, passed to qemu as -f (never probed). */
  format: 'raw' | 'qcow2' | 'vmdk' | 'vpc' | 'vhdx' | 'vdi';
  /** `qemu-img info` of the image when the caller already has it (it is not asked again). */
  info?: ImageInfo;
  /**
   * The disk served over NBD for the whole export (src/export/source-server.ts): read there
   * instead of through a qemu-nbd of the writer's own. `local` says `path` is the top image
   * (a local file or block device) whose clusters may be read in place, located by
   * `qemu-img map` on `filename` (the guest view, with -f format); otherwise the map and
   * every byte come from the server.
   */
  served?: ServedDisk;
  filename?: string;
  local?: boolean;
  /** The guest map and bytes from elsewhere (a volume read through libvirt streams, src/export/stream-guest.ts), read once in guest order: neither qemu-img nor the file is opened. */
  guest?: { extents: AsyncIterable<MapExtent>; reader: GuestReader };
}

/** Options of {@link writeStreamOptimized}. */
export interface StreamOptimizedOptions {
  source: DiskSource;
  /**
   * Receives the VMDK bytes in order; awaited (backpressure). The caller hashes and writes them (into an OVA).
   * Chunks are 512 bytes to about 1 MiB; the writer never touches a chunk again, so it may be kept.
   */
  write: (chunk: Buffer) => Promise<void>;
  /** deflate level 0-9, default 1 */
  level?: number;
  /** worker threads for deflate, default os.availableParallelism() */
  threads?: number;
  /** Called after each batch with guest bytes scanned so far and the virtual size, in bytes. */
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
  signal?: AbortSignal;
  /** Extent file name written in the embedded descriptor; default `disk.vmdk`. Use the OVA member name. */
  fileName?: string;
  /** ddb.adapterType of the descriptor (and the geometry that goes with it): the disk's bus rule in mappings/export.json. */
  adapter: VmdkAdapter;
  /**
   * Store grains that look random (order-0 entropy above 7.9 bits per byte in two 4 KiB probes:
   * already compressed or encrypted data) as deflate "stored" blocks instead of running deflate
   * over them: several times faster on such grains, for the same size. Default true; moot at level 0.
   */
  storeIncompressible?: boolean;
}

/** What {@link writeStreamOptimized} wrote. */
export interface StreamOptimizedResult {
  /** Bytes passed to `write`: the size of the VMDK file. */
  bytesWritten: number;
  /** Virtual size of the VMDK (its capacity), in bytes: the source's size rounded up to 512, as qemu reports it. */
  virtualSizeBytes: number;
  /** Non-zero grains written (each 64 KiB of guest data). */
  grainsWritten: number;
  /** Guest bytes those grains hold (grainsWritten x the grain size): the VMDK's ovf:populatedSize. */
  populatedBytes: number;
  /**
   * How the guest bytes were read: `raw file` or `qcow2 file` (positioned reads of the image
   * file, at the offsets qemu-img map gives), `qemu-nbd` (Unix socket), or both joined by ` + `.
   */
  readMethod: string;
}

/** Grains per batch handed to a worker (1 MiB of guest data); must divide 512. */
const BATCH_GRAINS = 16;
/** Batches in flight per worker thread (read, queued, compressing or awaiting output). */
const IN_FLIGHT_PER_THREAD = 4;
/** Upper bound on batches in flight whatever the thread count: 64 x (1 MiB in + up to 1 MiB out). */
const MAX_IN_FLIGHT = 64;
/** Batches being read ahead of compression. */
const READ_AHEAD = 4;
/** Output bytes between two (incremental) collections on the main thread; see gc.ts. */
const COLLECT_EVERY_BYTES = 16 * 2 ** 20;

function checkOptions(opts: StreamOptimizedOptions): { level: number; threads: number } {
  const level = opts.level ?? 1;
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new RangeError(`deflate level must be an integer 0-9, got ${level}`);
  const threads = opts.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be a positive integer, got ${threads}`);
  return { level, threads };
}

/**
 * Writes `source` as a streamOptimized VMDK through `write`, in order and without seeking:
 *
 * 1. the header (version 3, flags 0x30001, capacity in sectors, 64 KiB grains, gdOffset
 *    GD_AT_END) and the embedded descriptor (createType "streamOptimized", one SPARSE extent);
 * 2. for every 64 KiB grain that is not all zeros, in guest order: a grain marker (LBA, size)
 *    and the grain deflated as a zlib stream, padded to 512 bytes; after the grains of each
 *    32 MiB span, a grain-table marker and the grain table (when it maps any grain);
 * 3. the grain-directory marker and directory, the footer marker and footer (the header with
 *    the real gdOffset) and the end-of-stream marker.
 *
 * Unallocated and zero extents (`qemu-img map`) are never read. A raw source, and the qcow2
 * clusters the map places in the image file as is, are read with positioned reads of the file;
 * the rest (other formats, backing files, compressed clusters...) through qemu-nbd on a Unix
 * socket. No temporary file is written.
 * Grains are deflated in batches of 16 on `threads` worker threads; at most 4 batches per
 * thread (64 in all) are in flight, so memory does not grow with the disk size (peak RSS of a
 * whole process measured at about 120 MiB with 2 threads; each more thread adds about 20 MiB).
 * The size of the VMDK is known only at the end (`bytesWritten`).
 *
 * @throws RangeError on bad options or a disk whose VMDK would exceed 2 TiB; ToolError when
 *   qemu-img or qemu-nbd fail; whatever `write` throws; the signal's reason when aborted.
 */
export async function writeStreamOptimized(opts: StreamOptimizedOptions): Promise<StreamOptimizedResult> {
  const { level, threads } = checkOptions(opts);
  const { source, signal } = opts;
  signal?.throwIfAborted();
  const format: ImageFormat = source.format;
  const served = source.served ? { ...source.served, direct: source.local === true && source.filename !== undefined } : undefined;
  const reader: GuestReader = source.guest?.reader ?? (await openGuestReader(source.path, format, signal, source.info, served));
  const map = served?.direct ? { format, filename: source.filename! } : served ? { format: 'raw' as const, filename: served.filename } : { format };
  const extents = source.guest?.extents ?? imageMap(source.path, map.format, { ...(signal ? { signal } : {}), ...(map.filename ? { filename: map.filename } : {}) });
  let pool: DeflatePool | undefined;
  try {
    const capacitySectors = Math.ceil(reader.sizeBytes / SECTOR);
    const size = capacitySectors * SECTOR;
    const totalGrains = Math.ceil(capacitySectors / GRAIN_SECTORS);
    pool = new DeflatePool(threads, level, opts.storeIncompressible ?? true, BATCH_GRAINS * GRAIN_BYTES);
    const layout = new StreamLayout(capacitySectors);
    let bytesWritten = 0;
    const out = async (chunk: Buffer): Promise<void> => {
      if (chunk.length === 0) return;
      await opts.write(chunk);
      bytesWritten += chunk.length;
    };

    await out(encodeLeadIn(capacitySectors, { fileName: opts.fileName ?? 'disk.vmdk', adapter: opts.adapter }));

    const inFlight: Array<{ batch: GrainBatch; result: Promise<CompressedBatch> }> = [];
    const released = collectEvery(COLLECT_EVERY_BYTES);
    const emitOldest = async (): Promise<void> => {
      const { batch, result } = inFlight.shift()!;
      const c = await result;
      const tableBefore = layout.place(c.grains, c.sectorOffsets, c.records.length / SECTOR);
      if (tableBefore) await out(tableBefore);
      await out(c.records);
      released(c.records.length);
      opts.onProgress?.(Math.min(size, (batch.firstGrain + batch.count) * GRAIN_BYTES), size);
    };
    const maxInFlight = Math.min(MAX_IN_FLIGHT, threads * IN_FLIGHT_PER_THREAD);

    // Reads run READ_AHEAD batches ahead of compression (qemu-nbd serves them concurrently).
    const reading: Array<{ batch: GrainBatch; buffer: ArrayBuffer; done: Promise<void> }> = [];
    const compressOldest = async (): Promise<void> => {
      const { batch, buffer, done } = reading.shift()!;
      await done;
      const result = pool!.compress(buffer, batch.firstGrain, batch.count);
      result.catch(() => undefined); // awaited in order by emitOldest; avoid an unhandled rejection meanwhile
      inFlight.push({ batch, result });
      if (inFlight.length >= maxInFlight) await emitOldest();
    };
    for await (const batch of grainBatches(extents, totalGrains, BATCH_GRAINS)) {
      signal?.throwIfAborted();
      const bytes = batch.count * GRAIN_BYTES;
      const buffer = pool.takeBuffer();
      const done = reader.readSegments(batch.firstGrain * GRAIN_BYTES, new Uint8Array(buffer, 0, bytes), bytes, batch.segments);
      done.catch(() => undefined); // awaited in order by compressOldest
      reading.push({ batch, buffer, done });
      if (reading.length >= READ_AHEAD) await compressOldest();
    }
    while (reading.length > 0) {
      signal?.throwIfAborted();
      await compressOldest();
    }
    while (inFlight.length > 0) {
      signal?.throwIfAborted();
      await emitOldest();
    }
    await out(layout.finish());
    opts.onProgress?.(size, size);
    return { bytesWritten, virtualSizeBytes: size, grainsWritten: layout.grains, populatedBytes: layout.grains * GRAIN_BYTES, readMethod: reader.method };
  } finally {
    await pool?.close();
    await reader.close();
  }
}
