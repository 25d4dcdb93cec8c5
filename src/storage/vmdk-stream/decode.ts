// Decodes the grains of a streamOptimized VMDK into a DiskSink: the marker walk (parse.ts) fills
// batches of compressed grains, worker threads inflate them (inflate-pool.ts), and the batches
// are written in stream order, gaps and all-zero grains declared zero, contiguous data merged.

import { PackageError } from '../../errors.js';
import type { DiskSink } from '../sink.js';
import type { StreamHeader } from './header.js';
import { InflatePool, OUTPUT_SLACK, type InflatedBatch } from './inflate-pool.js';
import { walkStream, type GrainMarker } from './parse.js';
import type { StreamReader } from './reader.js';
import { GrainTables } from './tables.js';

/** Guest bytes per batch (16 grains of 64 KiB). */
const BATCH_BYTES = 2 ** 20;
/** Batches inflating or waiting to be written, per worker thread. */
const QUEUE_PER_WORKER = 3;

/** What a decode did; bytes are counts of the stream and of the guest data. */
export interface DecodeResult {
  /** Bytes of the VMDK stream consumed (all of it). */
  readonly bytesRead: number;
  /** Guest bytes written as data (all-zero grains are declared zero instead). */
  readonly dataBytes: number;
  /** Grain markers in the stream. */
  readonly grains: number;
}

/** Grains collected for one worker request. */
interface Batch {
  input: ArrayBuffer;
  view: Uint8Array;
  used: number;
  starts: number[];
  lengths: number[];
  markers: GrainMarker[];
}

/**
 * Decodes the stream `reader` (positioned at byte 0, lead-in checked into `h`) into `sink`.
 * Holds at most `workers × QUEUE_PER_WORKER` batches of about 1 MiB of guest data (plus up to
 * twice that compressed) at once, whatever the disk size. Does not finish or abort the sink.
 * @throws PackageError / NotStreamableError on bad input (naming the byte offset); the sink's errors.
 */
export async function decodeStream(reader: StreamReader, h: StreamHeader, sink: DiskSink, workers: number): Promise<DecodeResult> {
  const label = reader.label;
  const refuse = (why: string) => new PackageError(`${label}: ${why}`, { file: label });
  if (sink.capacityBytes < h.capacityBytes) throw new RangeError(`${sink.label}: capacity ${sink.capacityBytes} bytes is smaller than the image's ${h.capacityBytes}`);
  const G = h.grainBytes;
  const perBatch = Math.max(1, Math.floor(BATCH_BYTES / G));
  const pool = new InflatePool(workers, perBatch * (2 * G + 16), perBatch * G + OUTPUT_SLACK);
  const emitter = new Emitter(sink, h, refuse);
  const tables = new GrainTables(h, refuse, label);
  const queue: Promise<void>[] = [];
  let chain: Promise<void> = Promise.resolve();
  let batch: Batch | undefined;
  let grains = 0;

  const submit = async (): Promise<void> => {
    const b = batch;
    batch = undefined;
    if (!b) return;
    const needs = Uint32Array.from(b.markers, (m) => Math.min(G, h.capacityBytes - m.index * G));
    const inflated = pool.inflate(b.input, Uint32Array.from(b.starts), Uint32Array.from(b.lengths), needs, G);
    inflated.catch(() => undefined);
    chain = chain.then(async () => {
      const r = await inflated;
      await emitter.batch(b.markers, r, () => pool.releaseOutput(r.output));
    });
    chain.catch(() => undefined);
    queue.push(chain);
    if (queue.length >= workers * QUEUE_PER_WORKER) await queue.shift();
  };

  try {
    await walkStream(reader, h, tables, refuse, sink.sequential, async (m) => {
      grains++;
      if (batch && batch.used + m.size > pool.inputBytes) await submit();
      if (!batch) {
        const input = pool.takeInput();
        batch = { input, view: new Uint8Array(input), used: 0, starts: [], lengths: [], markers: [] };
      }
      await reader.readInto(batch.view, batch.used, m.size, `the compressed grain at byte ${m.sector * 512}`);
      batch.starts.push(batch.used);
      batch.lengths.push(m.size);
      batch.markers.push(m);
      batch.used += m.size;
      if (batch.markers.length >= perBatch) await submit();
    });
    await submit();
    await chain;
    await emitter.end();
  } catch (err) {
    // Nothing may reach the sink once the caller aborts it: stop the emitter and let it settle.
    emitter.stopped = true;
    await chain.catch(() => undefined);
    await emitter.drain().catch(() => undefined);
    throw err;
  } finally {
    await pool.close();
  }
  return { bytesRead: reader.offset, dataBytes: emitter.dataBytes, grains };
}

/** Writes inflated batches to the sink in guest order, merging zero ranges and contiguous data. */
class Emitter {
  /** Guest bytes below it are written or declared zero (the zero range may still be pending). */
  private cursor = 0;
  /** Start of the zero range not yet sent (it ends at `cursor`), or -1. */
  private zeroFrom = -1;
  /** Sink calls not yet settled, oldest first. */
  private readonly inflight: Promise<void>[] = [];
  private readonly maxInflight: number;
  dataBytes = 0;

  constructor(
    private readonly sink: DiskSink,
    private readonly h: StreamHeader,
    private readonly refuse: (why: string) => PackageError,
  ) {
    this.maxInflight = sink.sequential ? 1 : Math.max(1, sink.maxInFlight ?? 1);
  }

  /** Set when the decode failed: no further sink call is started. */
  stopped = false;

  /** Starts a sink call; waits while too many are in flight. */
  private async send(call: Promise<void>): Promise<void> {
    call.catch(() => undefined);
    this.inflight.push(call);
    while (this.inflight.length >= this.maxInflight) await this.inflight.shift();
  }

  /** Waits for every sink call in flight. */
  async drain(): Promise<void> {
    while (this.inflight.length > 0) await this.inflight.shift();
  }

  /**
   * Sends the grains of one inflated batch; data grains adjacent in the guest and in the batch go
   * as one write. `release` is called once no call uses the batch's output buffer any more.
   */
  async batch(markers: readonly GrainMarker[], r: InflatedBatch, release: () => void): Promise<void> {
    const uses: Promise<void>[] = [];
    const G = this.h.grainBytes;
    const out = new Uint8Array(r.output);
    let run = -1; // first grain (batch index) of the data run being merged
    let runEnd = 0; // guest byte where that run ends
    const flushRun = async (): Promise<void> => {
      if (run < 0) return;
      const off = markers[run]!.index * G;
      uses.push((await this.data(off, out.subarray(run * G, run * G + (runEnd - off)))).write);
      run = -1;
    };
    const n = r.failed ? r.failed.index : markers.length;
    for (let i = 0; i < n; i++) {
      const off = markers[i]!.index * G;
      const end = Math.min(off + G, this.h.capacityBytes);
      if (r.zero[i]) {
        await flushRun();
        this.zeroTo(off >= this.cursor ? end : this.cursor);
      } else if (run >= 0 && off === runEnd) {
        runEnd = end;
      } else {
        await flushRun();
        run = i;
        runEnd = end;
      }
    }
    await flushRun();
    void Promise.allSettled(uses).then(release);
    if (r.failed) {
      const m = markers[r.failed.index]!;
      throw this.refuse(`the compressed grain at byte ${m.sector * 512} (LBA ${m.index * this.h.grainSectors}) does not inflate: ${r.failed.message}`);
    }
  }

  /** Extends the pending zero range from the cursor up to `end`. */
  private zeroTo(end: number): void {
    if (end <= this.cursor) return;
    if (this.zeroFrom < 0) this.zeroFrom = this.cursor;
    this.cursor = end;
  }

  /** Sends the pending zero range. */
  private async flushZero(): Promise<void> {
    if (this.zeroFrom < 0) return;
    const from = this.zeroFrom;
    this.zeroFrom = -1;
    if (this.stopped) throw new Error('decode stopped');
    await this.send(this.sink.zero(from, this.cursor - from));
  }

  /**
   * Writes `bytes` at `off`, the gap before it declared zero first. A grain behind the cursor
   * (only on a non-sequential target: tables.ts refuses it on a sequential one) lands in a range
   * declared zero before: every call in flight settles first so that the data wins.
   * @returns the write, settled once the sink let go of `bytes`.
   */
  private async data(off: number, bytes: Uint8Array): Promise<{ write: Promise<void> }> {
    if (off < this.cursor) {
      await this.flushZero();
      await this.drain();
    }
    this.zeroTo(off);
    await this.flushZero();
    if (this.stopped) throw new Error('decode stopped');
    const write = this.sink.write(off, bytes);
    await this.send(write);
    this.dataBytes += bytes.length;
    this.cursor = Math.max(this.cursor, off + bytes.length);
    return { write };
  }

  /** Declares the tail after the last grain zero. */
  async end(): Promise<void> {
    this.zeroTo(this.h.capacityBytes);
    await this.flushZero();
    await this.drain();
  }
}
