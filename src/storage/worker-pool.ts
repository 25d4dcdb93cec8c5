// A fixed-size pool of worker threads started from a function's source text (so that it works
// from dist/ and from the esbuild bundle alike), each with a few requests queued so that it never
// waits for the main thread between two. Replies come back in any order; callers await their
// own promise. Used by the VMDK decoder's inflate pool and the export writer's deflate pool.

import { Worker, type Transferable } from 'node:worker_threads';

/** Requests queued on one worker at once. */
const PER_WORKER = 2;

interface Job<Req, Reply> {
  req: Req & { id: number };
  transfer: Transferable[];
  resolve: (reply: Reply) => void;
  reject: (err: Error) => void;
}

interface Slot<Req, Reply> {
  worker: Worker;
  running: Map<number, Job<Req, Reply>>;
}

/** Worker threads answering `{ id, ... }` requests with `{ id, ... }` replies; `close()` terminates them. */
export class WorkerPool<Req extends object, Reply extends { id: number }> {
  private readonly slots: Slot<Req, Reply>[] = [];
  private readonly waiting: Job<Req, Reply>[] = [];
  private nextId = 0;
  private failure: Error | undefined;
  closed = false;

  /**
   * @param source the worker's code (evaluated as CommonJS: `require` is available).
   * @param name thread name prefix (`-N` appended).
   * @param maxThreads most worker threads (at least 1).
   * @param eager start them all now; otherwise one now and another only when requests wait
   *   while every running worker is busy (a small job never pays for more).
   */
  constructor(
    private readonly source: string,
    private readonly name: string,
    private readonly maxThreads: number,
    eager: boolean,
  ) {
    do this.spawn();
    while (eager && this.slots.length < Math.max(1, maxThreads));
  }

  /**
   * Sends `req` (with a fresh `id`) to a worker, transferring `transfer`. Resolves with its
   * reply; rejects when a worker fails, the pool was failed, or it is closed.
   */
  run(req: Req, transfer: Transferable[]): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error(`${this.name} pool is closed`));
    return new Promise((resolve, reject) => {
      this.waiting.push({ req: { ...req, id: this.nextId++ }, transfer, resolve, reject });
      this.dispatch();
    });
  }

  /** Marks the pool failed: pending and later requests reject with `err`. */
  fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.rejectAll(err);
  }

  /** Terminates the workers; pending requests reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.rejectAll(new Error(`${this.name} pool is closed`));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private spawn(): void {
    const worker = new Worker(this.source, { eval: true, name: `${this.name}-${this.slots.length}` });
    const slot: Slot<Req, Reply> = { worker, running: new Map() };
    worker.on('message', (reply: Reply) => this.settle(slot, reply));
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => {
      if (!this.closed) this.fail(new Error(`${this.name} worker exited with code ${code}`));
    });
    this.slots.push(slot);
  }

  /** Hands waiting requests to the least busy workers, up to PER_WORKER each, starting workers as allowed. */
  private dispatch(): void {
    while (this.waiting.length > 0) {
      let best: Slot<Req, Reply> | undefined;
      for (const s of this.slots) if (s.running.size < PER_WORKER && (!best || s.running.size < best.running.size)) best = s;
      if (!best && this.slots.length < this.maxThreads) {
        this.spawn();
        continue;
      }
      if (!best) return;
      const job = this.waiting.shift()!;
      best.running.set(job.req.id, job);
      best.worker.postMessage(job.req, job.transfer);
    }
  }

  private settle(slot: Slot<Req, Reply>, reply: Reply): void {
    const job = slot.running.get(reply.id);
    if (!job) return;
    slot.running.delete(reply.id);
    job.resolve(reply);
    this.dispatch();
  }

  private rejectAll(err: Error): void {
    for (const s of this.slots) {
      for (const job of s.running.values()) job.reject(err);
      s.running.clear();
    }
    for (const job of this.waiting.splice(0)) job.reject(err);
  }
}
