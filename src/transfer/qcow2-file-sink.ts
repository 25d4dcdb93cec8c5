// A new local qcow2 volume filled without qemu-nbd while the guest ranges ascend: the sequential
// qcow2 encoder writes the file in place (pwrite). A range that goes back (a streamOptimized VMDK
// whose grains are not in guest order) finishes the encoder, which leaves a valid qcow2 image of
// everything so far, and the rest goes through qemu-nbd on that image (NbdSink), whose qcow2
// driver takes writes in any order.
import { open, type FileHandle } from 'node:fs/promises';
import { Qcow2StreamSink } from '../storage/qcow2-stream/sink.js';
import { fileUploader } from '../storage/qcow2-stream/uploader.js';
import type { DiskSink } from '../storage/sink.js';
import { NbdSink } from './nbd-sink.js';

/** Bytes of zeros written at a time for a zero range over data the encoder wrote. */
const ZERO_CHUNK_BYTES = 2 ** 20;

/**
 * The DiskSink of a qcow2 volume just created at `path` (a regular file on this machine that
 * reads as zeros): see the file comment. Not sequential, one call at a time (the decoder sends
 * calls in stream order). Sizes in bytes.
 */
export class Qcow2FileSink implements DiskSink {
  readonly sequential = false;
  readonly maxInFlight = 1;
  #encoder: Qcow2StreamSink | undefined;
  #nbd: NbdSink | undefined;
  /** End of what the encoder was given (guest bytes); below it, the image holds data. */
  #end = 0;
  #written = 0;

  private constructor(
    private readonly fh: FileHandle,
    private readonly path: string,
    readonly capacityBytes: number,
    readonly label: string,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.#encoder = new Qcow2StreamSink({ capacityBytes, uploader: fileUploader(fh), label });
  }

  /**
   * Opens `path` for writing (never creating or truncating it).
   * @throws the OS error of open(2); RangeError for a capacity qcow2 cannot hold.
   */
  static async open(path: string, opts: { capacityBytes: number; label: string; signal?: AbortSignal }): Promise<Qcow2FileSink> {
    const fh = await open(path, 'r+');
    try {
      return new Qcow2FileSink(fh, path, opts.capacityBytes, opts.label, opts.signal);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** Guest data bytes written so far. */
  get bytesWritten(): number {
    return this.#written;
  }

  /** True once the ranges went back and qemu-nbd took over. */
  get switched(): boolean {
    return this.#nbd !== undefined;
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    this.#written += data.length;
    if (this.#encoder && offset < this.#end) await this.#switch();
    if (this.#nbd) return this.#nbd.write(offset, data);
    this.#end = Math.max(this.#end, offset + data.length);
    return this.#encoder!.write(offset, data);
  }

  async zero(offset: number, length: number): Promise<void> {
    if (this.#encoder && offset < this.#end) await this.#switch();
    if (this.#nbd) {
      // qemu-nbd's sink skips zero ranges (the image read as zeros when it opened); below the
      // encoder's end they may cover data, so they are written as zeros there.
      const over = Math.min(offset + length, this.#end) - offset;
      for (let at = 0; at < over; at += ZERO_CHUNK_BYTES) await this.#nbd.write(offset + at, Buffer.alloc(Math.min(ZERO_CHUNK_BYTES, over - at)));
      return;
    }
    this.#end = Math.max(this.#end, offset + length);
    return this.#encoder!.zero(offset, length);
  }

  async finish(): Promise<void> {
    try {
      if (this.#nbd) await this.#nbd.finish();
      else await this.#encoder!.finish();
    } finally {
      await this.fh.close();
    }
  }

  async abort(): Promise<void> {
    await (this.#nbd ?? this.#encoder)?.abort().catch(() => undefined);
    await this.fh.close().catch(() => undefined);
  }

  /** Finishes the encoder (a valid qcow2 image of what it got) and opens qemu-nbd on the image for the rest. */
  async #switch(): Promise<void> {
    const encoder = this.#encoder!;
    this.#encoder = undefined;
    await encoder.finish();
    this.#nbd = await NbdSink.open({ kind: 'path', path: this.path, format: 'qcow2' }, { zeroInitialized: true, label: `${this.label} (qemu-nbd, qcow2)`, ...(this.signal ? { signal: this.signal } : {}) });
  }
}
