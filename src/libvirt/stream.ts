// Blocking libvirt data stream (virStreamPtr); every transfer call runs on a koffi worker thread.

import { callSync, ErrorCode, type ConnContext } from './call.js';
import type { Ptr } from './ffi.js';
import { NativeHandle } from './handle.js';

/** virStreamFlags: VIR_STREAM_NONBLOCK (not used by this binding, which only makes blocking streams). */
export const VIR_STREAM_NONBLOCK = 1;

/**
 * A blocking stream (virStreamNew flags 0), fed to StorageVolume.upload() or filled by
 * StorageVolume.download(). Calls are queued on the connection's worker-thread FIFO, so the
 * event loop keeps running while data moves.
 */
export class Stream extends NativeHandle {
  #done = false;

  /** Wraps a virStreamPtr the caller owns (internal: use Connection.newStream). */
  constructor(ctx: ConnContext, ptr: Ptr) {
    super(ctx, ptr, 'virStreamFree', ErrorCode.INVALID_STREAM);
  }

  /** The raw virStreamPtr for another wrapper's call of `func` (internal). */
  pointer(func: string): Ptr {
    return this.handle(func);
  }

  /**
   * Writes bytes (virStreamSend). Resolves with the number of bytes libvirt accepted, which may
   * be fewer than `buf.length`; see sendAll(). An empty buffer resolves 0 without a call.
   * @throws LibvirtError (rejection) if the stream is freed, aborted by the peer, or libvirt fails.
   */
  send(buf: Buffer): Promise<number> {
    if (buf.length === 0) return Promise.resolve(0);
    return this.ctx.call<number>('virStreamSend', 'negative', this.handle('virStreamSend'), buf, buf.length);
  }

  /**
   * Writes all of `buf`, looping on virStreamSend until every byte is accepted.
   * @throws LibvirtError (rejection) as send().
   */
  async sendAll(buf: Buffer): Promise<void> {
    let offset = 0;
    while (offset < buf.length) offset += await this.send(buf.subarray(offset));
  }

  /**
   * Reads up to `maxBytes` bytes (virStreamRecv). Resolves with the bytes read: an empty
   * buffer means end of stream.
   * @throws LibvirtError (rejection) if the stream is freed or libvirt fails; RangeError if maxBytes < 1.
   */
  async recv(maxBytes: number): Promise<Buffer> {
    if (!Number.isInteger(maxBytes) || maxBytes < 1) throw new RangeError(`recv: maxBytes must be a positive integer, got ${maxBytes}`);
    const buf = Buffer.alloc(maxBytes);
    const n = await this.ctx.call<number>('virStreamRecv', 'negative', this.handle('virStreamRecv'), buf, maxBytes);
    return buf.subarray(0, n);
  }

  /**
   * Ends a transfer successfully (virStreamFinish): for an upload, waits until the daemon has
   * written all data.
   * @throws LibvirtError (rejection) if the transfer failed or libvirt fails.
   */
  async finish(): Promise<void> {
    const ptr = this.handle('virStreamFinish');
    this.#done = true;
    await this.ctx.call<number>('virStreamFinish', 'negative', ptr);
  }

  /**
   * Cancels a transfer (virStreamAbort).
   * @throws LibvirtError (rejection) if the stream is freed or libvirt fails.
   */
  async abort(): Promise<void> {
    const ptr = this.handle('virStreamAbort');
    this.#done = true;
    await this.ctx.call<number>('virStreamAbort', 'negative', ptr);
  }

  /** Before virStreamFree, aborts a transfer neither finished nor aborted (libvirt requires it). */
  protected override beforeFree(ptr: Ptr): void {
    if (this.#done) return;
    try {
      callSync('virStreamAbort', 'negative', ptr);
    } catch {
      // A stream that never carried data, or whose transfer already failed: nothing to abort.
    }
  }
}
