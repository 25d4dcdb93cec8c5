// A DiskSink over an existing raw volume: a regular file (holes where the guest reads zeros) or a
// block device (zeros written), filled by positioned writes.

import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { DiskSink } from './sink.js';

/** Bytes of zeros written per call when a zero range must be written out (block devices). */
const ZERO_CHUNK = 2 ** 20;
let zeroChunk: Buffer | undefined;

/** Options of {@link RawFileSink.open}. */
export interface RawFileSinkOptions {
  /** Size of the disk in bytes; a shorter file is extended to it at finish (a longer one is kept). */
  capacityBytes: number;
  /**
   * The target already reads as zeros where nothing is written: a fresh sparse or preallocated
   * regular file, as libvirt creates a raw volume. Then zero() writes nothing (holes stay holes).
   * Default true for a regular file; give false for a block device or a reused file, so that
   * zero() writes zeros.
   */
  zeroedTarget?: boolean;
  /** Description for messages; default `raw file PATH`. */
  label?: string;
}

/**
 * Writes guest bytes into an existing raw file or block device at their offsets (pwrite(2)).
 * Not sequential: ranges may come in any order, and several calls may be in flight at once
 * (each is an independent positioned write). finish() extends a shorter regular file to the
 * capacity (ftruncate(2)); a longer one keeps its size. Like qemu-img convert (cache mode unsafe) it does not fsync.
 * Never creates, truncates on open or removes the file.
 */
export class RawFileSink implements DiskSink {
  readonly sequential = false;
  /** Positioned writes are independent: a few may run at once (libuv's thread pool has four threads). */
  readonly maxInFlight = 4;
  bytesWritten = 0;
  private closed = false;

  private constructor(
    private readonly fh: FileHandle,
    readonly label: string,
    readonly capacityBytes: number,
    private readonly zeroed: boolean,
    private readonly regular: boolean,
  ) {}

  /**
   * Opens `path` for writing (O_WRONLY, no O_CREAT, no O_TRUNC).
   * @throws the OS error when it cannot be opened; Error when it is neither a regular file nor a block device.
   */
  static async open(path: string, opts: RawFileSinkOptions): Promise<RawFileSink> {
    const fh = await open(path, constants.O_WRONLY | constants.O_NOCTTY);
    try {
      const st = await fh.stat();
      if (!st.isFile() && !st.isBlockDevice()) throw new Error(`${path} is neither a regular file nor a block device`);
      if (!Number.isSafeInteger(opts.capacityBytes) || opts.capacityBytes < 0) throw new RangeError(`capacity ${opts.capacityBytes} is not a byte count`);
      return new RawFileSink(fh, opts.label ?? `raw file ${path}`, opts.capacityBytes, opts.zeroedTarget ?? st.isFile(), st.isFile());
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  private check(offset: number, length: number): void {
    if (this.closed) throw new Error(`${this.label}: written after finish or abort`);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.capacityBytes) {
      throw new RangeError(`${this.label}: range at ${offset} of ${length} bytes lies outside the disk (${this.capacityBytes} bytes)`);
    }
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    this.check(offset, data.length);
    for (let done = 0; done < data.length; ) {
      const { bytesWritten } = await this.fh.write(data, done, data.length - done, offset + done);
      done += bytesWritten;
    }
    this.bytesWritten += data.length;
  }

  async zero(offset: number, length: number): Promise<void> {
    this.check(offset, length);
    if (this.zeroed) return;
    zeroChunk ??= Buffer.alloc(ZERO_CHUNK);
    for (let done = 0; done < length; ) {
      const n = Math.min(ZERO_CHUNK, length - done);
      const { bytesWritten } = await this.fh.write(zeroChunk, 0, n, offset + done);
      done += bytesWritten;
    }
  }

  async finish(): Promise<void> {
    if (this.closed) throw new Error(`${this.label}: finished twice`);
    // Extended to the disk's size, never cut: a larger existing volume keeps its size.
    if (this.regular && (await this.fh.stat()).size < this.capacityBytes) await this.fh.truncate(this.capacityBytes);
    this.closed = true;
    await this.fh.close();
  }

  async abort(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close().catch(() => undefined);
  }
}
