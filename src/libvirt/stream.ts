// Blocking libvirt data stream (virStreamPtr); every transfer call runs on a koffi worker thread.

import { callSync, ErrorCode, type ConnContext } from './call.js';
import type { Ptr } from './ffi.js';
import { NativeHandle } from './handle.js';

/** virStreamFlags: VIR_STREAM_NONBLOCK (not used by this binding, which only makes blocking streams). */
export const VIR_STREAM_NONBLOCK = 1;
/** virStreamRecvFlagsValues: return at a hole (-3) instead of reading zeros (libvirt 3.4). */
export const VIR_STREAM_RECV_STOP_AT_HOLE = 1;
/** virStreamRecvFlags' answer when the stream is at a hole and STOP_AT_HOLE was asked. */
const AT_HOLE = -3;

/** One piece of a sparse download, offsets in bytes from the start of the transfer: data, or a hole that reads as zeros. */
export type StreamRange = { readonly kind: 'data'; readonly offset: number; readonly data: Buffer } | { readonly kind: 'hole'; readonly offset: number; readonly length: number };

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
   * Declares the next `lengthBytes` bytes a hole (virStreamSendHole); only on a stream of a sparse
   * upload (VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM). The daemon leaves them unallocated where the
   * target can (punches or skips), so they read as zeros. Zero length resolves without a call.
   * @throws LibvirtError (rejection) if the stream is not sparse, freed, aborted, or libvirt fails.
   */
  async sendHole(lengthBytes: number): Promise<void> {
    if (lengthBytes === 0) return;
    await this.ctx.call<number>('virStreamSendHole', 'negative', this.handle('virStreamSendHole'), lengthBytes, 0);
  }

  /**
   * Reads up to `maxBytes` bytes (virStreamRecvFlags with `flags`, e.g. VIR_STREAM_RECV_STOP_AT_HOLE):
   * the bytes read (empty at end of stream), or 'hole' when the stream stands at a hole (then
   * recvHole() says how long it is).
   * @throws LibvirtError (rejection) as recv(); RangeError if maxBytes < 1.
   */
  async recvFlags(maxBytes: number, flags: number): Promise<Buffer | 'hole'> {
    if (!Number.isInteger(maxBytes) || maxBytes < 1) throw new RangeError(`recvFlags: maxBytes must be a positive integer, got ${maxBytes}`);
    const buf = Buffer.allocUnsafe(maxBytes);
    const n = await this.ctx.call<number>('virStreamRecvFlags', 'minus-one', this.handle('virStreamRecvFlags'), buf, maxBytes, flags);
    if (n === AT_HOLE) return 'hole';
    if (n < 0) throw new RangeError(`virStreamRecvFlags answered ${n} on a blocking stream`);
    return buf.subarray(0, n);
  }

  /**
   * The length in bytes of the hole the stream stands at (virStreamRecvHole), consuming it.
   * @throws LibvirtError (rejection) if the stream is not at a hole or libvirt fails.
   */
  async recvHole(): Promise<number> {
    const length = [0];
    await this.ctx.call<number>('virStreamRecvHole', 'negative', this.handle('virStreamRecvHole'), length, 0);
    return Number(length[0]);
  }

  /**
   * Drains a sparse download (VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM) as data and hole ranges in
   * ascending order, data in pieces of at most `chunkBytes`, then finishes the stream. Breaking out
   * of the loop early leaves the stream to abort() or free().
   * @throws LibvirtError as recvFlags()/recvHole()/finish().
   */
  async *readSparse(chunkBytes: number): AsyncGenerator<StreamRange> {
    let offset = 0;
    for (;;) {
      const got = await this.recvFlags(chunkBytes, VIR_STREAM_RECV_STOP_AT_HOLE);
      if (got === 'hole') {
        const length = await this.recvHole();
        if (length > 0) yield { kind: 'hole', offset, length };
        offset += length;
        continue;
      }
      if (got.length === 0) break;
      yield { kind: 'data', offset, data: got };
      offset += got.length;
    }
    await this.finish();
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
