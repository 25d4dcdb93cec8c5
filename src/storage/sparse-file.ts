// A new file written sparse: runs of zeros become holes, so a temporary copy holds only its data.
import { open, type FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';

/** Size of the blocks checked for zeros, in bytes (a multiple of every common filesystem block). */
export const SPARSE_BLOCK_BYTES = 64 * 1024;

const ZEROS = Buffer.alloc(SPARSE_BLOCK_BYTES);

/** True when every byte of `block` (at most SPARSE_BLOCK_BYTES long) is zero. */
function isZero(block: Buffer): boolean {
  return block.equals(ZEROS.subarray(0, block.length));
}

/**
 * A Writable that creates `path` (O_CREAT|O_EXCL, mode 0600: never an existing file) and writes
 * what it is given as a sparse file: the stream is cut into aligned blocks of
 * SPARSE_BLOCK_BYTES, an all-zero block is skipped (left a hole) and the file is extended to its
 * full length with ftruncate(2) at the end, as `cp --sparse=always` does. The file reads back
 * byte for byte as written. Errors of open(2), write(2) and ftruncate(2) (ENOSPC, EDQUOT, EROFS,
 * EEXIST…) are emitted as they are, Node system errors with `code` and `path`.
 */
export class SparseFileWriter extends Writable {
  /** Length of the file written so far, in bytes (holes included). */
  lengthBytes = 0;
  /** Bytes actually written, in bytes (the data; holes excluded). */
  dataBytes = 0;
  private handle: FileHandle | undefined;
  private readonly pending = Buffer.alloc(SPARSE_BLOCK_BYTES);
  private fill = 0;

  constructor(readonly path: string) {
    super({ highWaterMark: 4 * SPARSE_BLOCK_BYTES });
  }

  override _construct(done: (err?: Error | null) => void): void {
    open(this.path, 'wx', 0o600).then(
      (handle) => {
        this.handle = handle;
        done();
      },
      (err: Error) => done(err),
    );
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.take(chunk).then(() => done(), done);
  }

  override _final(done: (err?: Error | null) => void): void {
    this.finish().then(() => done(), done);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    const handle = this.handle;
    this.handle = undefined;
    if (!handle) return done(err);
    handle.close().then(
      () => done(err),
      (closeErr: Error) => done(err ?? closeErr),
    );
  }

  /** Completes the pending block from `chunk`, then writes whole blocks straight from it, keeping the tail. */
  private async take(chunk: Buffer): Promise<void> {
    let off = 0;
    if (this.fill > 0) {
      off = chunk.copy(this.pending, this.fill, 0, SPARSE_BLOCK_BYTES - this.fill);
      this.fill += off;
      if (this.fill < SPARSE_BLOCK_BYTES) return;
      await this.writeBlocks(this.pending);
      this.fill = 0;
    }
    const whole = off + Math.floor((chunk.length - off) / SPARSE_BLOCK_BYTES) * SPARSE_BLOCK_BYTES;
    if (whole > off) await this.writeBlocks(chunk.subarray(off, whole));
    this.fill = chunk.copy(this.pending, 0, whole);
  }

  /** Writes `data` (whole blocks, or the last partial one) at the current length: each run of non-zero blocks in one write(2), zero blocks skipped. */
  private async writeBlocks(data: Buffer): Promise<void> {
    let runStart = -1;
    for (let at = 0; at < data.length; at += SPARSE_BLOCK_BYTES) {
      const zero = isZero(data.subarray(at, at + SPARSE_BLOCK_BYTES));
      if (!zero && runStart < 0) runStart = at;
      if (zero && runStart >= 0) {
        await this.writeAt(data.subarray(runStart, at), this.lengthBytes + runStart);
        runStart = -1;
      }
    }
    if (runStart >= 0) await this.writeAt(data.subarray(runStart), this.lengthBytes + runStart);
    this.lengthBytes += data.length;
  }

  private async writeAt(data: Buffer, position: number): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.handle!.write(data, done, data.length - done, position + done);
      done += bytesWritten;
    }
    this.dataBytes += data.length;
  }

  /** Writes the partial last block, extends the file over a trailing hole (ftruncate) and closes it. */
  private async finish(): Promise<void> {
    if (this.fill > 0) await this.writeBlocks(this.pending.subarray(0, this.fill));
    this.fill = 0;
    await this.handle!.truncate(this.lengthBytes);
    const handle = this.handle!;
    this.handle = undefined;
    await handle.close();
  }
}
