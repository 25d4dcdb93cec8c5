// A minimal NBD client (NBD protocol, "fixed newstyle" negotiation with NBD_OPT_GO, simple
// replies): reads, writes, zeroes and flushes the default export of qemu-nbd or
// qemu-storage-daemon over a Unix socket. Several requests may be in flight; replies are matched
// by handle, in any order. Constants and the request header are in protocol.ts.

import type { Socket } from 'node:net';
import type { ByteQueue } from './byte-queue.js';
import * as P from './protocol.js';

/** Largest read this client asks for at once, in bytes (qemu-nbd serves up to 32 MiB). */
export const NBD_MAX_READ = P.DEFAULT_MAX_BLOCK;

/** What the server said about the export during negotiation. */
export interface NbdExportInfo {
  /** Size of the export, in bytes. */
  readonly sizeBytes: number;
  /** Transmission flags (NBD_FLAG_*: read-only, flush, write zeroes, …). */
  readonly flags: number;
  /** Largest payload of one request, in bytes (NBD_INFO_BLOCK_SIZE maximum, else 32 MiB). */
  readonly maxBlockBytes: number;
  /** Alignment the server wants of offsets and lengths, in bytes (NBD_INFO_BLOCK_SIZE minimum, else 1). */
  readonly minBlockBytes: number;
}

/** A request sent and not yet answered: where a read's payload goes (none for other commands). */
interface Pending {
  readonly what: string;
  readonly target: Uint8Array | undefined;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

/** A negotiated NBD connection to the default export ("") of a server. */
export class NbdClient implements NbdExportInfo {
  readonly sizeBytes: number;
  readonly flags: number;
  readonly maxBlockBytes: number;
  readonly minBlockBytes: number;
  private handle = 0n;
  private readonly pending = new Map<bigint, Pending>();
  /** Promises of the requests sent, until they settle (disconnect() waits for them). */
  private readonly inflight = new Set<Promise<void>>();
  private pumping = false;
  private failure: Error | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly bytes: ByteQueue,
    info: NbdExportInfo,
  ) {
    this.sizeBytes = info.sizeBytes;
    this.flags = info.flags;
    this.maxBlockBytes = info.maxBlockBytes;
    this.minBlockBytes = info.minBlockBytes;
  }

  /**
   * Negotiates on a connected socket: fixed-newstyle greeting, client flags, NBD_OPT_GO on the
   * default export asking for NBD_INFO_BLOCK_SIZE; NBD_INFO_EXPORT gives the size and flags.
   * @throws Error when the server is not a fixed-newstyle NBD server or refuses the export.
   */
  static async negotiate(socket: Socket, bytes: ByteQueue): Promise<NbdClient> {
    const hello = await bytes.read(18);
    if (hello.readBigUInt64BE(0) !== P.NBDMAGIC || hello.readBigUInt64BE(8) !== P.IHAVEOPT) throw new Error('not an NBD newstyle server');
    const serverFlags = hello.readUInt16BE(16);
    if (!(serverFlags & P.FLAG_FIXED_NEWSTYLE)) throw new Error('the NBD server does not speak fixed newstyle');
    const clientFlags = Buffer.alloc(4);
    clientFlags.writeUInt32BE(P.FLAG_FIXED_NEWSTYLE | (serverFlags & P.FLAG_NO_ZEROES));
    // NBD_OPT_GO: u32 name length (0: default export), name, u16 number of info requests, u16 each.
    const option = Buffer.alloc(16 + 8);
    option.writeBigUInt64BE(P.IHAVEOPT, 0);
    option.writeUInt32BE(P.OPT_GO, 8);
    option.writeUInt32BE(8, 12);
    option.writeUInt16BE(1, 20);
    option.writeUInt16BE(P.INFO_BLOCK_SIZE, 22);
    socket.write(Buffer.concat([clientFlags, option]));
    let exported: { sizeBytes: number; flags: number } | undefined;
    let minBlockBytes = 1;
    let maxBlockBytes = P.DEFAULT_MAX_BLOCK;
    for (;;) {
      const head = await bytes.read(20);
      if (head.readBigUInt64BE(0) !== P.OPTION_REPLY_MAGIC) throw new Error('bad NBD option reply');
      const type = head.readUInt32BE(12);
      const payload = await bytes.read(head.readUInt32BE(16));
      if (type === P.REP_ACK) break;
      if (type === P.REP_INFO && payload.length >= 12 && payload.readUInt16BE(0) === P.INFO_EXPORT) {
        exported = { sizeBytes: Number(payload.readBigUInt64BE(2)), flags: payload.readUInt16BE(10) };
      } else if (type === P.REP_INFO && payload.length >= 14 && payload.readUInt16BE(0) === P.INFO_BLOCK_SIZE) {
        minBlockBytes = Math.max(1, payload.readUInt32BE(2));
        maxBlockBytes = Math.max(minBlockBytes, Math.min(P.DEFAULT_MAX_BLOCK, payload.readUInt32BE(10)));
      } else if (type & 0x80000000) {
        throw new Error(`the NBD server refused the export (reply ${type >>> 0}): ${payload.subarray(4).toString('utf8')}`);
      }
    }
    if (exported === undefined) throw new Error('the NBD server did not send the export size');
    return new NbdClient(socket, bytes, { ...exported, minBlockBytes, maxBlockBytes });
  }

  /** True when the export accepts writes (no NBD_FLAG_READ_ONLY). */
  get writable(): boolean {
    return (this.flags & P.TRANSMIT_READ_ONLY) === 0;
  }

  /**
   * Reads `length` bytes of the export at `offset` into `target` (from index 0). Bytes past the
   * end of the export are left as zeros. Reads may overlap: each is sent at once (in requests of
   * at most maxBlockBytes) and completes when its reply has arrived.
   */
  read(offset: number, target: Uint8Array, length: number): Promise<void> {
    const inside = Math.max(0, Math.min(length, this.sizeBytes - offset));
    target.fill(0, inside, length);
    const parts: Array<Promise<void>> = [];
    for (let done = 0; done < inside; done += this.maxBlockBytes) {
      const part = target.subarray(done, Math.min(inside, done + this.maxBlockBytes));
      parts.push(this.send(P.CMD_READ, 0, offset + done, part.length, undefined, part));
    }
    return Promise.all(parts).then(() => undefined);
  }

  /**
   * Writes `data` at `offset` (NBD_CMD_WRITE, in requests of at most maxBlockBytes). The server
   * may still read `data` until the promise settles.
   * @throws RangeError beyond the export; NbdReplyError (code ENOSPC, EIO, …) when the server refuses.
   */
  write(offset: number, data: Uint8Array): Promise<void> {
    this.checkRange(offset, data.length);
    const parts: Array<Promise<void>> = [];
    for (let done = 0; done < data.length; done += this.maxBlockBytes) {
      const part = data.subarray(done, Math.min(data.length, done + this.maxBlockBytes));
      parts.push(this.send(P.CMD_WRITE, 0, offset + done, part.length, part, undefined));
    }
    return Promise.all(parts).then(() => undefined);
  }

  /**
   * Makes [offset, offset + length) read as zeros (NBD_CMD_WRITE_ZEROES without
   * NBD_CMD_FLAG_NO_HOLE, so the server may punch a hole), in requests of at most 2 GiB - 1 MiB.
   * @throws RangeError beyond the export; Error when the server cannot write zeroes; NbdReplyError.
   */
  writeZeroes(offset: number, length: number): Promise<void> {
    this.checkRange(offset, length);
    if (!(this.flags & P.TRANSMIT_SEND_WRITE_ZEROES)) return Promise.reject(new Error('the NBD server does not support NBD_CMD_WRITE_ZEROES'));
    const step = 2 ** 31 - 2 ** 20;
    const parts: Array<Promise<void>> = [];
    for (let done = 0; done < length; done += step) parts.push(this.send(P.CMD_WRITE_ZEROES, 0, offset + done, Math.min(step, length - done), undefined, undefined));
    return Promise.all(parts).then(() => undefined);
  }

  /** NBD_CMD_FLUSH: resolves once every write answered before it is on stable storage (a no-op without NBD_FLAG_SEND_FLUSH). */
  flush(): Promise<void> {
    if (!(this.flags & P.TRANSMIT_SEND_FLUSH)) return Promise.resolve();
    return this.send(P.CMD_FLUSH, 0, 0, 0, undefined, undefined);
  }

  /** Waits for the requests in flight, sends NBD_CMD_DISC and closes the socket. */
  async disconnect(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
    if (!this.socket.destroyed) this.socket.end(P.requestHeader(P.CMD_DISC, 0, this.handle++, 0, 0));
  }

  private checkRange(offset: number, length: number): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.sizeBytes) {
      throw new RangeError(`NBD request [${offset}, ${offset + length}) outside the export of ${this.sizeBytes} bytes`);
    }
  }

  /** Sends one request (header, then `payload` for a write, corked into one writev); its reply fills `target` for a read. */
  private send(type: number, flags: number, offset: number, length: number, payload: Uint8Array | undefined, target: Uint8Array | undefined): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const handle = this.handle++;
    const what = `${['read', 'write', 'disconnect', 'flush', 'trim', 'cache', 'write zeroes'][type] ?? `command ${type}`} of ${length} bytes at ${offset}`;
    const sent = new Promise<void>((resolve, reject) => {
      this.pending.set(handle, { what, target, resolve, reject });
      const header = P.requestHeader(type, flags, handle, offset, length);
      if (payload) {
        this.socket.cork();
        this.socket.write(header);
        this.socket.write(payload);
        this.socket.uncork();
      } else {
        this.socket.write(header);
      }
      void this.pump();
    });
    this.inflight.add(sent);
    const forget = (): void => void this.inflight.delete(sent);
    sent.then(forget, forget);
    return sent;
  }

  /** Reads replies while requests are pending; on a protocol or connection error, fails them all. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.pending.size > 0) {
        const reply = await this.bytes.read(16);
        if (reply.readUInt32BE(0) !== P.SIMPLE_REPLY_MAGIC) throw new Error('bad NBD reply magic');
        const handle = reply.readBigUInt64BE(8);
        const req = this.pending.get(handle);
        if (!req) throw new Error(`NBD reply for unknown request ${handle}`);
        this.pending.delete(handle);
        const error = reply.readUInt32BE(4);
        if (error !== 0) {
          req.reject(new P.NbdReplyError(req.what, error));
          continue;
        }
        if (req.target) await this.bytes.readInto(req.target, 0, req.target.length);
        req.resolve();
      }
    } catch (err) {
      this.failure = err instanceof Error ? err : new Error(String(err));
      for (const req of this.pending.values()) req.reject(this.failure);
      this.pending.clear();
    } finally {
      this.pumping = false;
    }
  }
}
