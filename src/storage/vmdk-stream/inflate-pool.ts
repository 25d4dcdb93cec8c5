// The inflate worker threads of the decoder (inflate-worker.ts) on a WorkerPool. Batches are
// answered in any order; the caller awaits them in submission order, which keeps the output in
// stream order. Input and output buffers travel to the worker and back (transferred, never
// copied) and are reused.

import { WorkerPool } from '../worker-pool.js';
import { inflateWorkerMain, type InflateReply, type InflateRequest } from './inflate-worker.js';

/** Bootstrap of each worker: the worker body from its source text, given zlib and worker_threads. */
const WORKER_SOURCE = `(${inflateWorkerMain.toString()})(require('node:zlib'), require('node:worker_threads'));`;

/** Bytes after the last grain slot of an output buffer: room to see a grain inflate past its size. */
export const OUTPUT_SLACK = 1024;

/** An inflated batch: the output buffer (grain i at i × grainBytes), zero flags, the first failure. */
export type InflatedBatch = Pick<InflateReply, 'output' | 'zero' | 'failed'>;

/** Worker threads running inflate, started as batches need them; `close()` terminates them. */
export class InflatePool {
  private readonly pool: WorkerPool<Omit<InflateRequest, 'id'>, InflateReply>;
  private readonly spareInputs: ArrayBuffer[] = [];
  private readonly spareOutputs: ArrayBuffer[] = [];

  /**
   * @param threads most worker threads (at least 1).
   * @param inputBytes size of the input buffers {@link takeInput} hands out.
   * @param outputBytes size of the output buffers (grains per batch × grainBytes + OUTPUT_SLACK).
   */
  constructor(
    threads: number,
    readonly inputBytes: number,
    readonly outputBytes: number,
  ) {
    this.pool = new WorkerPool(WORKER_SOURCE, 'virt-ovf-inflate', threads, false);
  }

  /** An input buffer of `inputBytes` (recycled; contents undefined). */
  takeInput(): ArrayBuffer {
    return this.spareInputs.pop() ?? new ArrayBuffer(this.inputBytes);
  }

  /** Gives an output buffer back once its grains are written. */
  releaseOutput(buf: ArrayBuffer): void {
    if (buf.byteLength === this.outputBytes && !this.pool.closed) this.spareOutputs.push(buf);
  }

  /**
   * Inflates the grains described by `starts`/`lengths` in `input` (transferred: do not touch it
   * afterwards). Rejects only when a worker fails or the pool is closed; a grain that does not
   * inflate is reported in the batch's `failed`.
   */
  async inflate(input: ArrayBuffer, starts: Uint32Array, lengths: Uint32Array, needs: Uint32Array, grainBytes: number): Promise<InflatedBatch> {
    const output = this.spareOutputs.pop() ?? new ArrayBuffer(this.outputBytes);
    const reply = await this.pool.run({ input, starts, lengths, needs, output, grainBytes }, [input, output]);
    if (reply.input.byteLength === this.inputBytes && !this.pool.closed) this.spareInputs.push(reply.input);
    return { output: reply.output, zero: reply.zero, ...(reply.failed ? { failed: reply.failed } : {}) };
  }

  /** Terminates the workers; pending batches reject. */
  async close(): Promise<void> {
    await this.pool.close();
    this.spareInputs.length = 0;
    this.spareOutputs.length = 0;
  }
}
