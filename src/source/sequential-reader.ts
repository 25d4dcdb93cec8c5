// One pass over a byte stream: exact reads, a look at the first bytes, and member bodies cut out of it.
import { Readable } from 'node:stream';

/** Largest chunk a body stream pushes at once, in bytes (1 MiB, as the range streams of archive/access.ts). */
const BODY_CHUNK = 1024 * 1024;

/**
 * Reads a stream front to back, never seeking: `readExact` for headers, `body` for a member's
 * data as a Readable of exactly its length, `peek` to look at the first bytes without consuming
 * them. Counts the bytes consumed (`position`) and calls `onRead` with the running total.
 * Errors of the stream (a dead decompressor, a dropped connection) reject the pending read.
 */
export class SequentialReader {
  /** Bytes consumed so far. */
  position = 0;
  private readonly chunks: AsyncIterator<Buffer>;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private ended = false;

  constructor(
    input: AsyncIterable<Buffer | Uint8Array>,
    private readonly onRead?: (bytes: number) => void,
  ) {
    this.chunks = (async function* () {
      for await (const c of input) yield Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
    })();
  }

  /** Pulls one more chunk into the held list; false at end of stream. */
  private async fill(): Promise<boolean> {
    if (this.ended) return false;
    const next = await this.chunks.next();
    if (next.done) {
      this.ended = true;
      return false;
    }
    if (next.value.length > 0) {
      this.held.push(next.value);
      this.heldBytes += next.value.length;
    }
    return true;
  }

  /** Up to `n` bytes from the start, left in place (fewer only when the stream is shorter). */
  async peek(n: number): Promise<Buffer> {
    while (this.heldBytes < n && (await this.fill()));
    const all = Buffer.concat(this.held);
    this.held = all.length > 0 ? [all] : [];
    return all.subarray(0, n);
  }

  /** Takes up to `n` bytes off the front of what is held (at least one chunk must be held). */
  private take(n: number): Buffer {
    const first = this.held[0]!;
    const part = first.length <= n ? first : first.subarray(0, n);
    if (part === first) this.held.shift();
    else this.held[0] = first.subarray(n);
    this.heldBytes -= part.length;
    this.position += part.length;
    this.onRead?.(this.position);
    return part;
  }

  /** Exactly `n` bytes, or fewer only at end of stream (the caller calls that truncated). */
  async readExact(n: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n) {
      if (this.heldBytes === 0 && !(await this.fill())) break;
      if (this.heldBytes === 0) continue;
      const part = this.take(n - got);
      parts.push(part);
      got += part.length;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, got);
  }

  /**
   * The next `n` bytes as chunks (no copy), ending early only at end of stream.
   * @returns an iterator yielding Buffers; their total is `n` unless the stream ended first.
   */
  async *chunksOf(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.heldBytes === 0 && !(await this.fill())) return;
      if (this.heldBytes === 0) continue;
      const part = this.take(Math.min(left, BODY_CHUNK));
      left -= part.length;
      yield part;
    }
  }

  /**
   * Up to `length` bytes at byte `offset` of the stream, skipping (reading and dropping) what
   * lies before it: a forward-only random read, for the tar walker (archive/tar.ts tarMembers).
   * @throws Error when `offset` lies behind what was already consumed (a bug in the caller).
   */
  async readAt(offset: number, length: number): Promise<Buffer> {
    if (offset < this.position) throw new Error(`one-pass read asked to go back from byte ${this.position} to ${offset}`);
    for await (const _ of this.chunksOf(offset - this.position));
    return this.readExact(length);
  }

  /** True once the stream has ended and nothing is held. */
  async atEnd(): Promise<boolean> {
    while (this.heldBytes === 0) if (!(await this.fill())) return true;
    return false;
  }

  /** Reads and drops everything left; returns how many bytes that was. */
  async drainAll(): Promise<number> {
    let n = 0;
    for (;;) {
      if (this.heldBytes === 0 && !(await this.fill())) return n;
      while (this.heldBytes > 0) n += this.take(this.heldBytes).length;
    }
  }
}

/** One file of a package read in one pass (a tar or zip member). Sizes in bytes. */
export interface StreamMember {
  /** Canonical name (policy.ts canonicalName), as hrefs are matched. */
  readonly name: string;
  /** The name as the archive spells it. */
  readonly rawName: string;
  /** Length of the file's bytes (after zip decompression). */
  readonly size: number;
  /** The bytes; read it to the end, or call drain, before asking for the next member. */
  readonly body: Readable;
  /** Settles (never rejects) once the consumer is through with `body`: read to the end, failed or closed. */
  readonly settled: Promise<void>;
  /** Reads and drops (through the tap) whatever the consumer left of `body`. */
  drain(): Promise<void>;
}

/**
 * A member body cut out of a SequentialReader: a Readable of exactly `size` bytes that calls `tap`
 * with every chunk (digests over the bytes as stored) and `onShort` when the stream ends first.
 * `settled` says when the consumer is through with it; `drain()` reads what it left.
 */
export class MemberBody {
  readonly stream: Readable;
  /** Bytes of the member read so far. */
  done = 0;
  private readonly iterator: AsyncGenerator<Buffer>;
  private inFlight: Promise<unknown> = Promise.resolve();
  private complete = false;
  private failure: Error | undefined;
  private settle!: () => void;
  /** Settles once every byte was read, the read failed, or the consumer closed the stream; never rejects. */
  readonly settled: Promise<void> = new Promise((resolve) => (this.settle = resolve));

  constructor(
    reader: SequentialReader,
    readonly size: number,
    private readonly tap: (chunk: Buffer) => void,
    private readonly onShort: (got: number) => Error,
  ) {
    this.iterator = reader.chunksOf(size);
    if (size === 0) this.complete = true;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const body = this;
    this.stream = new Readable({
      highWaterMark: BODY_CHUNK,
      read() {
        const step = body.next().then(
          (chunk) => this.push(chunk),
          (err: Error) => this.destroy(err),
        );
        body.inFlight = step;
      },
    });
    this.stream.once('close', () => this.settle());
    if (size === 0) this.settle();
  }

  /** The next chunk, or null after the last byte; rejects when the stream ends short or fails. */
  private async next(): Promise<Buffer | null> {
    if (this.failure) throw this.failure;
    if (this.complete) return null;
    try {
      const r = await this.iterator.next();
      if (r.done) {
        if (this.done < this.size) throw this.onShort(this.done);
        this.complete = true;
        this.settle();
        return null;
      }
      this.done += r.value.length;
      this.tap(r.value);
      if (this.done === this.size) {
        this.complete = true;
        this.settle();
      }
      return r.value;
    } catch (err) {
      this.failure = err as Error;
      this.settle();
      throw err;
    }
  }

  /** Reads whatever the consumer left (after its read in flight), so the next member can start. */
  async drain(): Promise<void> {
    await this.inFlight.catch(() => undefined);
    // Every byte was handed out: the consumer still gets its end.
    if (this.complete) return;
    if (!this.stream.destroyed && !this.stream.readableEnded) this.stream.destroy();
    while ((await this.next()) !== null);
  }
}

/** All bytes of a small member (a descriptor, manifest or certificate; the caller bounds its size). */
export async function readMember(m: StreamMember): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of m.body) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}
