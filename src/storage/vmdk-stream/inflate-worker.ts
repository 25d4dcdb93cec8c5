// The body of an inflate worker thread: inflates a batch of compressed grains (zlib streams,
// RFC 1950, as stream-optimized VMDK grain markers carry them) into 64 KiB (grainBytes) slots.
// Kept free of imports and outer references: the pool starts it from its source text, so it
// works unchanged from dist/ and from the esbuild bundle (as export/vmdk/deflate-worker.ts).

/** A batch of compressed grains (main thread -> worker). */
export interface InflateRequest {
  id: number;
  /** Compressed grains back to back (transferred; handed back in the reply for reuse). */
  input: ArrayBuffer;
  /** Where each grain's compressed bytes start in `input`, and how many there are. */
  starts: Uint32Array;
  lengths: Uint32Array;
  /** Bytes of each grain that land inside the capacity: it must inflate to at least that many. */
  needs: Uint32Array;
  /** count × grainBytes plus slack (transferred; handed back): grain i lands at i × grainBytes. */
  output: ArrayBuffer;
  grainBytes: number;
}

/** The inflated batch (worker -> main thread). */
export interface InflateReply {
  id: number;
  input: ArrayBuffer;
  output: ArrayBuffer;
  /** 1 where the grain's first `needs[i]` bytes are all zero. */
  zero: Uint8Array;
  /** The first grain that failed (index in the batch) and why; the grains after it are not inflated. */
  failed?: { index: number; message: string };
}

/**
 * Worker entry point; `zlib` and `threads` are passed in by the bootstrap line. Each grain is
 * inflated into its slot with room for 1 KiB more than a grain, so that a grain inflating to
 * more than grainBytes is seen (qemu's uncompress() fails on it too). Trailing bytes after the
 * end of a zlib stream are ignored, as zlib's uncompress() ignores them.
 *
 * Fast path: one zlib handle reused for every grain (Node's internal `_handle.writeSync`, which
 * `zlib.inflateSync` itself uses), about 3× faster than `inflateSync` per 64 KiB grain, which
 * builds a stream object and a zlib state each time. A self-test at start-up falls back to
 * `inflateSync` when that internal interface is missing or behaves differently.
 */
export function inflateWorkerMain(zlib: typeof import('node:zlib'), threads: typeof import('node:worker_threads')): void {
  const SLACK = 1024;
  const port = threads.parentPort;
  if (!port) throw new Error('inflate worker started outside a worker thread');
  type Stream = { _handle: { reset(): void; writeSync(...a: unknown[]): void } | null; _writeState: Uint32Array; destroyed: boolean; on(e: string, f: () => void): void };
  let stream: Stream | undefined;

  /** The error zlib recorded on a destroyed stream (its kError symbol), as text. */
  function streamError(s: Stream): string {
    for (const sym of Object.getOwnPropertySymbols(s)) {
      const v = (s as unknown as Record<symbol, unknown>)[sym];
      if (sym.description === 'kError' && v instanceof Error) return v.message;
    }
    return 'invalid deflate data';
  }

  /** Inflates `src` into `out` through a reused handle; returns the inflated length. */
  function viaHandle(src: Buffer, out: Buffer): number {
    if (!stream || !stream._handle || stream.destroyed) {
      stream = zlib.createInflate() as unknown as Stream;
      stream.on('error', () => undefined);
    }
    const s = stream;
    s._handle!.reset();
    s._writeState[0] = out.length;
    s._writeState[1] = src.length;
    s._handle!.writeSync(zlib.constants.Z_FINISH, src, 0, src.length, out, 0, out.length);
    if (!s._handle || s.destroyed) {
      stream = undefined;
      throw new Error(streamError(s));
    }
    return out.length - s._writeState[0]!;
  }

  /** Inflates `src` into `out` with the public API; returns the inflated length. */
  function viaInflateSync(src: Buffer, out: Buffer): number {
    const r = zlib.inflateSync(src, { chunkSize: out.length, maxOutputLength: out.length });
    return r.copy(out);
  }

  let inflateInto = viaInflateSync;
  try {
    const sample = Buffer.alloc(70_000, 7);
    const out = Buffer.alloc(sample.length + SLACK);
    const z = zlib.deflateSync(sample);
    let broken = false;
    try {
      viaHandle(z.subarray(0, 10), out);
    } catch {
      broken = true;
    }
    if (broken && viaHandle(z, out) === sample.length && out.subarray(0, sample.length).equals(sample)) inflateInto = viaHandle;
  } catch {
    inflateInto = viaInflateSync;
  }

  const zero = Buffer.alloc(64 * 1024);
  function allZero(b: Buffer): boolean {
    for (let at = 0; at < b.length; at += zero.length) {
      const n = Math.min(zero.length, b.length - at);
      if (b.compare(zero, 0, n, at, at + n) !== 0) return false;
    }
    return true;
  }

  port.on('message', (req: InflateRequest) => {
    const G = req.grainBytes;
    const count = req.starts.length;
    const zeroFlags = new Uint8Array(count);
    let failed: InflateReply['failed'];
    const input = Buffer.from(req.input);
    const output = Buffer.from(req.output);
    for (let i = 0; i < count; i++) {
      const slot = output.subarray(i * G, Math.min(output.length, i * G + G + SLACK));
      let n: number;
      try {
        n = inflateInto(input.subarray(req.starts[i]!, req.starts[i]! + req.lengths[i]!), slot);
      } catch (err) {
        const m = err instanceof Error ? err.message : String(err);
        failed = { index: i, message: /too large|larger than|maxOutputLength/i.test(m) ? `it inflates to more than the grain size (${G} bytes)` : `zlib: ${m}` };
        break;
      }
      if (n > G || n === slot.length) {
        failed = { index: i, message: `it inflates to more than the grain size (${G} bytes)` };
        break;
      }
      if (n < req.needs[i]!) {
        failed = { index: i, message: `it inflates to ${n} bytes, fewer than the ${req.needs[i]} the grain holds inside the capacity` };
        break;
      }
      zeroFlags[i] = allZero(output.subarray(i * G, i * G + req.needs[i]!)) ? 1 : 0;
    }
    const reply: InflateReply = { id: req.id, input: req.input, output: req.output, zero: zeroFlags, ...(failed ? { failed } : {}) };
    port.postMessage(reply, [req.input, req.output]);
  });
}
