// The body of a deflate worker thread: turns a batch of 64 KiB grains into stream-optimized
// grain records (marker + zlib stream + zero padding to a sector; VMware "Virtual Disk Format
// 1.1", "Stream-Optimized Compressed Sparse Extents", Grain Marker). Kept free of imports and
// outer references: the pool starts it from its source text (Function.prototype.toString), so it
// works unchanged from dist/ and from the esbuild bundle, where no separate worker file exists.

/** A batch of consecutive grains to compress (main thread -> worker). */
export interface DeflateRequest {
  /** Batch number, echoed back. */
  id: number;
  /** `count` grains of 64 KiB each, back to back (transferred; sent back in the reply for reuse). */
  data: ArrayBuffer;
  /** Grain number (guest offset / 64 KiB) of the first grain. */
  firstGrain: number;
  count: number;
  /** zlib level 0-9. */
  level: number;
  /** Store (level 0) grains that look random, instead of running deflate on them. */
  storeIncompressible: boolean;
}

/** The records of a batch (worker -> main thread). Zero grains have no record. */
export interface DeflateReply {
  id: number;
  /** The request's input buffer, handed back for reuse. */
  data: ArrayBuffer;
  /** Grain records back to back, each a multiple of 512 bytes. */
  records?: ArrayBuffer;
  /** Grain number of each record. */
  grains?: Uint32Array;
  /** Offset of each record within `records`, in sectors. */
  sectorOffsets?: Uint32Array;
  /** Failure message; the other fields are absent. */
  error?: string;
}

/**
 * Worker entry point. `zlib`, `threads`, `minorGc` (a young-generation collection, when the
 * bootstrap could expose one) and `grainBytes` (format.ts GRAIN_BYTES) are passed in by the
 * bootstrap line so that the function needs no imports. For each non-zero grain: deflate as a zlib stream (RFC 1950,
 * what qemu's uncompress() and VirtualBox's RTZip expect), then write the grain marker
 * (u64 LBA in sectors, u32 compressed size in bytes) and pad the record to a sector.
 * The last grain of a disk whose size is not a multiple of 64 KiB arrives zero-padded and is
 * compressed whole: VirtualBox requires every grain to inflate to exactly 64 KiB.
 */
export function deflateWorkerMain(zlib: typeof import('node:zlib'), threads: typeof import('node:worker_threads'), minorGc: (() => void) | undefined, grainBytes: number): void {
  const GRAIN = grainBytes;
  const SECTOR = 512;
  const MARKER = 12;
  /** Probe size, in bytes, for the incompressibility test. */
  const PROBE = 4096;
  /** Order-0 entropy, in bits per byte, above which a probe counts as incompressible (random: ~7.95). */
  const INCOMPRESSIBLE_BITS = 7.9;
  /** zlib output chunk for stored grains: the whole stream fits in one chunk (no concatenation). */
  const STORED_CHUNK = 80 * 1024;
  /** Batches between two young-generation collections (about 4 MiB of zlib output buffers). */
  const GC_EVERY = 2;
  let batches = 0;
  const zero = Buffer.alloc(GRAIN);
  const histogram = new Uint32Array(256);
  const port = threads.parentPort;
  if (!port) throw new Error('deflate worker started outside a worker thread');

  /** Order-0 entropy of `bytes`, in bits per byte. */
  function entropy(bytes: Buffer): number {
    histogram.fill(0);
    for (let i = 0; i < bytes.length; i++) histogram[bytes[i]!]!++;
    let bits = 0;
    for (let v = 0; v < 256; v++) {
      const n = histogram[v]!;
      if (n > 0) bits -= n * Math.log2(n / bytes.length);
    }
    return bits / bytes.length;
  }

  /**
   * True when two 4 KiB probes (start and middle of the grain) look like random bytes
   * (compressed or encrypted data), which deflate cannot shrink: such grains are stored.
   */
  function incompressible(grain: Buffer): boolean {
    return entropy(grain.subarray(0, PROBE)) > INCOMPRESSIBLE_BITS && entropy(grain.subarray(GRAIN / 2, GRAIN / 2 + PROBE)) > INCOMPRESSIBLE_BITS;
  }

  port.on('message', (req: DeflateRequest) => {
    try {
      const input = Buffer.from(req.data, 0, req.count * GRAIN);
      const packed: Buffer[] = [];
      const grains = new Uint32Array(req.count);
      const sectorOffsets = new Uint32Array(req.count);
      let n = 0;
      let sectors = 0;
      for (let i = 0; i < req.count; i++) {
        const grain = input.subarray(i * GRAIN, (i + 1) * GRAIN);
        if (grain.equals(zero)) continue;
        const store = req.level === 0 || (req.storeIncompressible && incompressible(grain));
        const packedGrain = store ? zlib.deflateSync(grain, { level: 0, chunkSize: STORED_CHUNK }) : zlib.deflateSync(grain, { level: req.level });
        packed.push(packedGrain);
        grains[n] = req.firstGrain + i;
        sectorOffsets[n] = sectors;
        sectors += Math.ceil((MARKER + packedGrain.length) / SECTOR);
        n++;
      }
      // Never pooled (its ArrayBuffer is transferred); only the padding needs zeroing.
      const records = Buffer.allocUnsafeSlow(sectors * SECTOR);
      for (let k = 0; k < n; k++) {
        const at = sectorOffsets[k]! * SECTOR;
        const lba = grains[k]! * 128;
        records.writeUInt32LE(lba % 2 ** 32, at);
        records.writeUInt32LE(Math.floor(lba / 2 ** 32), at + 4);
        records.writeUInt32LE(packed[k]!.length, at + 8);
        const end = at + MARKER + packed[k]!.copy(records, at + MARKER);
        records.fill(0, end, k + 1 < n ? sectorOffsets[k + 1]! * SECTOR : records.length);
      }
      const reply: DeflateReply = {
        id: req.id,
        data: req.data,
        records: records.buffer as ArrayBuffer,
        grains: grains.slice(0, n),
        sectorOffsets: sectorOffsets.slice(0, n),
      };
      port.postMessage(reply, [req.data, reply.records!, reply.grains!.buffer as ArrayBuffer, reply.sectorOffsets!.buffer as ArrayBuffer]);
      // The zlib output buffers are garbage now. V8 frees ArrayBuffers only once ~64 MiB of them
      // pile up, per thread; a scavenge every few batches keeps the worker's RSS flat.
      if (++batches % GC_EVERY === 0) minorGc?.();
    } catch (err) {
      const reply: DeflateReply = { id: req.id, data: req.data, error: err instanceof Error ? err.message : String(err) };
      port.postMessage(reply);
    }
  });
}
