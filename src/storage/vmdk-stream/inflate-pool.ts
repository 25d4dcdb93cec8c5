// A fixed pool of worker threads that inflate batches of compressed grains (inflate-worker.ts).
// Batches are answered in any order; the caller awaits them in submission order, which keeps
// the output in stream order. Input and output buffers travel to the worker and back
// (transferred, never copied) and are reused.

import { Worker } from 'node:worker_threads';
import { inflateWorkerMain, type InflateReply, type InflateRequest } from './inflate-worker.js';

/** Bootstrap of each worker: the worker body from its source text, given zlib and worker_threads. */
const WORKER_SOURCE = `(${inflateWorkerMain.toString()})(require('node:zlib'), require('node:worker_threads'));`;

/** Batches queued on one worker at once, so it never waits for the main thread between two. */
const PER_WORKER = 2;

/** Bytes after the last grain slot of an output buffer: room to see a grain inflate past its size. */
export const OUTPUT_SLACK = 1024;

/** An inflated batch: the output buffer (grain i at i × grainBytes), zero flags, the first failure. */
export type InflatedBatch = Pick<InflateReply, 'output' | 'zero' | 'failed'>;

interface Job {
  req: InflateRequest;
  resolve: (r: InflatedBatch) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  running: Map<number, Job>;
}

/** Worker threads running inflate; `close()` terminates them. */
export class InflatePool {
  private readonly slots: Slot[] = [];
  private readonly waiting: Job[] = [];
  private readonly spareInputs: ArrayBuffer[] = [];
  private readonly spareOutputs: ArrayBuffer[] = [];
  private nextId = 0;
  private failure: Error | undefined;
  private closed = false;

  /**
   * @param threads worker threads (at least 1).
   * @param inputBytes size of the input buffers {@link takeInput} hands out.
   * @param outputBytes size of the output buffers (grains per batch × grainBytes + OUTPUT_SLACK).
   */
  constructor(
    threads: number,
    readonly inputBytes: number,
    readonly outputBytes: number,
  ) {
    for (let i = 0; i < Math.max(1, threads); i++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true, name: `virt-ovf-inflate-${i}` });
      const slot: Slot = { worker, running: new Map() };
      worker.on('message', (reply: InflateReply) => this.settle(slot, reply));
      worker.on('error', (err) => this.fail(err));
      worker.on('exit', (code) => {
        if (!this.closed) this.fail(new Error(`inflate worker exited with code ${code}`));
      });
      this.slots.push(slot);
    }
  }

  /** An input buffer of `inputBytes` (recycled; contents undefined). */
  takeInput(): ArrayBuffer {
    return this.spareInputs.pop() ?? new ArrayBuffer(this.inputBytes);
  }

  /** Gives an output buffer back once its grains are written. */
  releaseOutput(buf: ArrayBuffer): void {
    if (buf.byteLength === this.outputBytes && !this.closed) this.spareOutputs.push(buf);
  }

  /**
   * Inflates the grains described by `starts`/`lengths` in `input` (transferred: do not touch it
   * afterwards). Rejects only when a worker fails or the pool is closed; a grain that does not
   * inflate is reported in the batch's `failed`.
   */
  inflate(input: ArrayBuffer, starts: Uint32Array, lengths: Uint32Array, needs: Uint32Array, grainBytes: number): Promise<InflatedBatch> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('inflate pool is closed'));
    const output = this.spareOutputs.pop() ?? new ArrayBuffer(this.outputBytes);
    return new Promise((resolve, reject) => {
      this.waiting.push({ req: { id: this.nextId++, input, starts, lengths, needs, output, grainBytes }, resolve, reject });
      this.dispatch();
    });
  }

  /** Terminates the workers; pending batches reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.rejectAll(new Error('inflate pool is closed'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.spareInputs.length = 0;
    this.spareOutputs.length = 0;
  }

  /** Hands waiting jobs to the least busy workers, up to PER_WORKER each. */
  private dispatch(): void {
    while (this.waiting.length > 0) {
      let best: Slot | undefined;
      for (const s of this.slots) if (s.running.size < PER_WORKER && (!best || s.running.size < best.running.size)) best = s;
      if (!best) return;
      const job = this.waiting.shift()!;
      best.running.set(job.req.id, job);
      best.worker.postMessage(job.req, [job.req.input, job.req.output]);
    }
  }

  private settle(slot: Slot, reply: InflateReply): void {
    const job = slot.running.get(reply.id);
    if (!job) return;
    slot.running.delete(reply.id);
    if (reply.input.byteLength === this.inputBytes && !this.closed) this.spareInputs.push(reply.input);
    job.resolve({ output: reply.output, zero: reply.zero, ...(reply.failed ? { failed: reply.failed } : {}) });
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
