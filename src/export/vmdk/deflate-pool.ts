// The worker threads that deflate batches of 64 KiB grains into stream-optimized grain records
// (see deflate-worker.ts), on a WorkerPool. Results come back in any order; the caller awaits
// them in submission order, which keeps the output deterministic.

import { WorkerPool } from '../../storage/worker-pool.js';
import { deflateWorkerMain, type DeflateReply, type DeflateRequest } from './deflate-worker.js';
import { GRAIN_BYTES } from './format.js';
import { WORKER_MINOR_GC_SOURCE } from './gc.js';

/** Bootstrap of each worker: the worker body from its source text, given zlib, worker_threads and the GC hook. */
const WORKER_SOURCE = `(${deflateWorkerMain.toString()})(require('node:zlib'), require('node:worker_threads'), ${WORKER_MINOR_GC_SOURCE}, ${GRAIN_BYTES});`;

/** The compressed records of one batch. */
export interface CompressedBatch {
  /** Grain records back to back (marker + zlib stream + padding), a multiple of 512 bytes. */
  records: Buffer;
  /** Grain number of each record (zero grains have none). */
  grains: Uint32Array;
  /** Offset of each record within `records`, in 512-byte sectors. */
  sectorOffsets: Uint32Array;
}

/** Worker threads running deflate (all started at once); `close()` terminates them. */
export class DeflatePool {
  private readonly pool: WorkerPool<Omit<DeflateRequest, 'id'>, DeflateReply>;
  /** Input buffers handed back by the workers, reused by {@link takeBuffer}. */
  private readonly spare: ArrayBuffer[] = [];

  /**
   * @param threads number of worker threads (at least 1).
   * @param level zlib level 0-9.
   * @param storeIncompressible store grains that look random (see deflate-worker.ts) instead of deflating them.
   * @param bufferBytes size of the input buffers {@link takeBuffer} hands out, in bytes.
   */
  constructor(
    threads: number,
    private readonly level: number,
    private readonly storeIncompressible: boolean,
    private readonly bufferBytes: number,
  ) {
    this.pool = new WorkerPool(WORKER_SOURCE, 'virt-ovf-deflate', threads, true);
  }

  /** An input buffer of `bufferBytes`, recycled from finished batches when possible (contents undefined). */
  takeBuffer(): ArrayBuffer {
    return this.spare.pop() ?? new ArrayBuffer(this.bufferBytes);
  }

  /**
   * Compresses `count` grains held at the start of `data` (transferred to a worker: do not touch
   * it afterwards). Rejects when a worker fails or the pool is closed.
   */
  async compress(data: ArrayBuffer, firstGrain: number, count: number): Promise<CompressedBatch> {
    const reply = await this.pool.run({ data, firstGrain, count, level: this.level, storeIncompressible: this.storeIncompressible }, [data]);
    if (reply.data.byteLength === this.bufferBytes && !this.pool.closed) this.spare.push(reply.data);
    if (reply.error !== undefined || !reply.records || !reply.grains || !reply.sectorOffsets) {
      const err = new Error(`deflate worker failed: ${reply.error ?? 'incomplete reply'}`);
      this.pool.fail(err);
      throw err;
    }
    return { records: Buffer.from(reply.records), grains: reply.grains, sectorOffsets: reply.sectorOffsets };
  }

  /** Terminates the workers; pending batches reject. */
  async close(): Promise<void> {
    await this.pool.close();
    this.spare.length = 0;
  }
}
