// Sequential byte reader over an async iterable of chunks (a Readable, an HTTP body, a gunzip
// stream): exact reads, skips and peeks that never seek, with the byte offset for messages.

import { PackageError } from '../../errors.js';
import { firstNonZero } from '../zero-bytes.js';

const EMPTY = Buffer.alloc(0);

/**
 * Reads a byte stream front to back. Chunks are consumed in place: a read that lies within
 * one chunk copies from it, one that spans chunks gathers them. The caller's chunks are never
 * kept past the next pull from the iterator, except by {@link peek}, which copies.
 */
export class StreamReader {
  private readonly it: AsyncIterator<Uint8Array>;
  private chunk: Buffer = EMPTY;
  private at = 0;
  private ended = false;
  /** Bytes consumed so far (the offset of the next byte in the stream). */
  offset = 0;
  /** Aborts the next pull with the signal's reason. */
  signal: AbortSignal | undefined;
  /** Called with the bytes consumed so far each time a chunk is pulled. */
  onRead: ((bytesRead: number) => void) | undefined;

  /**
   * @param input the stream's chunks (any sizes, empty ones allowed).
   * @param label the stream's name in messages, e.g. `disk1.vmdk`.
   */
  constructor(
    input: AsyncIterable<Uint8Array>,
    readonly label: string,
  ) {
    this.it = input[Symbol.asyncIterator]();
  }

  /** Bytes left in the current chunk (readable without awaiting). */
  get buffered(): number {
    return this.chunk.length - this.at;
  }

  /** Pulls the next non-empty chunk; false at the end of the stream. */
  private async pull(): Promise<boolean> {
    while (!this.ended) {
      this.signal?.throwIfAborted();
      const next = await this.it.next();
      this.signal?.throwIfAborted();
      if (next.done) {
        this.ended = true;
        break;
      }
      const v = next.value;
      if (v.length === 0) continue;
      this.chunk = Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.length);
      this.at = 0;
      this.onRead?.(this.offset);
      return true;
    }
    this.chunk = EMPTY;
    this.at = 0;
    return false;
  }

  /** The PackageError for a stream that ends `missing` bytes short inside `what`. */
  truncated(what: string, missing: number): PackageError {
    return new PackageError(`${this.label}: the stream ends at byte ${this.offset}, ${missing} bytes short of the end of ${what}; the image is truncated`, { file: this.label });
  }

  /** Copies the next `n` bytes into `dst` at `dstOffset`. @throws PackageError at the end of the stream. */
  async readInto(dst: Uint8Array, dstOffset: number, n: number, what: string): Promise<void> {
    let done = 0;
    while (done < n) {
      if (this.at >= this.chunk.length && !(await this.pull())) throw this.truncated(what, n - done);
      const take = Math.min(n - done, this.chunk.length - this.at);
      this.chunk.copy(dst, dstOffset + done, this.at, this.at + take);
      this.at += take;
      this.offset += take;
      done += take;
    }
  }

  /**
   * The next `n` bytes (consumed): a view of the current chunk when it holds them (valid until
   * the next read), else a new buffer. For small structures on the hot path (grain markers).
   */
  async take(n: number, what: string): Promise<Buffer> {
    if (this.chunk.length - this.at >= n) {
      const view = this.chunk.subarray(this.at, this.at + n);
      this.at += n;
      this.offset += n;
      return view;
    }
    return this.read(n, what);
  }

  /** The next `n` bytes as a new buffer. */
  async read(n: number, what: string): Promise<Buffer> {
    const out = Buffer.allocUnsafe(n);
    await this.readInto(out, 0, n, what);
    return out;
  }

  /** Discards the next `n` bytes. @throws PackageError at the end of the stream. */
  async skip(n: number, what: string): Promise<void> {
    let left = n;
    while (left > 0) {
      if (this.at >= this.chunk.length && !(await this.pull())) throw this.truncated(what, left);
      const take = Math.min(left, this.chunk.length - this.at);
      this.at += take;
      this.offset += take;
      left -= take;
    }
  }

  /**
   * Up to `n` bytes from the current position without consuming them (fewer at the end of the
   * stream). The bytes are gathered into one private chunk that later reads consume first.
   */
  async peek(n: number): Promise<Buffer> {
    if (this.buffered >= n) return this.chunk.subarray(this.at, this.at + n);
    const parts: Buffer[] = [this.chunk.subarray(this.at)];
    let have = parts[0]!.length;
    const consumed = this.offset;
    while (have < n && (await this.pull())) {
      parts.push(Buffer.from(this.chunk));
      have += this.chunk.length;
    }
    this.chunk = Buffer.concat(parts, have);
    this.at = 0;
    this.offset = consumed;
    return this.chunk.subarray(0, Math.min(n, have));
  }

  /** True when no byte is left. */
  async atEnd(): Promise<boolean> {
    return this.at >= this.chunk.length && !(await this.pull());
  }

  /**
   * Consumes the rest of the stream, which must hold only zero bytes (padding after the
   * end-of-stream marker). @returns the number of bytes. @throws PackageError at the first non-zero byte.
   */
  async zeroTail(after: string): Promise<number> {
    let n = 0;
    while (this.at < this.chunk.length || (await this.pull())) {
      const rest = this.chunk.subarray(this.at);
      const bad = firstNonZero(rest);
      if (bad >= 0) {
        throw new PackageError(`${this.label}: byte ${this.offset + bad} after the ${after} is not zero: data follows the end of the stream`, { file: this.label });
      }
      this.offset += rest.length;
      n += rest.length;
      this.at = this.chunk.length;
    }
    return n;
  }

  /** Ends the iteration early (closes the source stream); never throws. */
  async close(): Promise<void> {
    try {
      await this.it.return?.();
    } catch {
      // the source failed while closing: nothing more to read from it anyway
    }
  }
}
