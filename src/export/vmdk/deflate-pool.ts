// A fixed pool of worker threads that deflate batches of 64 KiB grains into stream-optimized
// grain records (see deflate-worker.ts). Results come back in any order; the caller awaits
// them in submission order, which keeps the output deterministic.

import { Worker } from 'node:worker_threads';
import { deflateWorkerMain, type DeflateReply, type DeflateRequest } from './deflate-worker.js';
import { GRAIN_BYTES } from './format.js';
import { WORKER_MINOR_GC_SOURCE } from './gc.js';

/** Bootstrap of each worker: the worker body from its source text, given zlib, worker_threads and the GC hook. */
const WORKER_SOURCE = `(${deflateWorkerMain.toString()})(require('node:zlib'), require('node:worker_threads'), ${WORKER_MINOR_GC_SOURCE}, ${GRAIN_BYTES});`;

/** Batches queued on one worker at once, so it never waits for the main thread between two. */
const PER_WORKER = 2;

/** The compressed records of one batch. */
export interface CompressedBatch {
  /** Grain records back to back (marker + zlib stream + padding), a multiple of 512 bytes. */
  records: Buffer;
  /** Grain number of each record (zero grains have none). */
  grains: Uint32Array;
  /** Offset of each record within `records`, in 512-byte sectors. */
  sectorOffsets: Uint32Array;
}

interface Job {
  req: DeflateRequest;
  resolve: (batch: CompressedBatch) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  running: Map<number, Job>;
}

/** Worker threads running deflate; `close()` terminates them. */
export class DeflatePool {
  private readonly slots: Slot[] = [];
  private readonly waiting: Job[] = [];
  /** Input buffers handed back by the workers, reused by {@link takeBuffer}. */
  private readonly spare: ArrayBuffer[] = [];
  private nextId = 0;
  private failure: Error | undefined;
  private closed = false;

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
    for (let i = 0; i < Math.max(1, threads); i++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true, name: `virt-ovf-deflate-${i}` });
      const slot: Slot = { worker, running: new Map() };
      worker.on('message', (reply: DeflateReply) => this.settle(slot, reply));
      worker.on('error', (err) => this.fail(err));
      worker.on('exit', (code) => {
        if (!this.closed) this.fail(new Error(`deflate worker exited with code ${code}`));
      });
      this.slots.push(slot);
    }
  }

  /** An input buffer of `bufferBytes`, recycled from finished batches when possible (contents undefined). */
  takeBuffer(): ArrayBuffer {
    return this.spare.pop() ?? new ArrayBuffer(this.bufferBytes);
  }

  /**
   * Compresses `count` grains held at the start of `data` (transferred to a worker: do not touch
   * it afterwards). Rejects when a worker fails or the pool is closed.
   */
  compress(data: ArrayBuffer, firstGrain: number, count: number): Promise<CompressedBatch> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('deflate pool is closed'));
    return new Promise((resolve, reject) => {
      const req: DeflateRequest = { id: this.nextId++, data, firstGrain, count, level: this.level, storeIncompressible: this.storeIncompressible };
      this.waiting.push({ req, resolve, reject });
      this.dispatch();
    });
  }

  /** Terminates the workers; pending batches reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.rejectAll(new Error('deflate pool is closed'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.spare.length = 0;
  }

  /** Hands waiting jobs to the least busy workers, up to PER_WORKER each. */
  private dispatch(): void {
    while (this.waiting.length > 0) {
      let best: Slot | undefined;
      for (const s of this.slots) if (s.running.size < PER_WORKER && (!best || s.running.size < best.running.size)) best = s;
      if (!best) return;
      const job = this.waiting.shift()!;
      best.running.set(job.req.id, job);
      best.worker.postMessage(job.req, [job.req.data]);
    }
  }

  private settle(slot: Slot, reply: DeflateReply): void {
    const job = slot.running.get(reply.id);
    if (!job) return;
    slot.running.delete(reply.id);
    if (reply.data.byteLength === this.bufferBytes) this.spare.push(reply.data);
    if (reply.error !== undefined || !reply.records || !reply.grains || !reply.sectorOffsets) {
      const err = new Error(`deflate worker failed: ${reply.error ?? 'incomplete reply'}`);
      job.reject(err);
      this.fail(err);
      return;
    }
    job.resolve({ records: Buffer.from(reply.records), grains: reply.grains, sectorOffsets: reply.sectorOffsets });
    this.dispatch();
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.rejectAll(err);
  }

  private rejectAll(err: Error): void {
    for (const s of this.slots) {
      for (const job of s.running.values()) job.reject(err);
      s.running.clear();
    }
    for (const job of this.waiting.splice(0)) job.reject(err);
  }
}
