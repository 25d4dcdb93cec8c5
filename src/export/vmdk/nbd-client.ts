// A minimal read-only NBD client (NBD protocol, "fixed newstyle" negotiation with NBD_OPT_GO,
// simple replies): enough to read guest bytes from qemu-nbd over a Unix socket. Integers on the
// wire are big-endian. Several reads may be in flight; replies are matched by handle, in any order.

import { connect, type Socket } from 'node:net';

const NBDMAGIC = 0x4e42444d41474943n; // "NBDMAGIC"
const IHAVEOPT = 0x49484156454f5054n; // "IHAVEOPT"
const OPTION_REPLY_MAGIC = 0x0003e889045565a9n;
const REQUEST_MAGIC = 0x25609513;
const SIMPLE_REPLY_MAGIC = 0x67446698;
const FLAG_FIXED_NEWSTYLE = 1;
const FLAG_NO_ZEROES = 2;
const OPT_GO = 7;
const REP_ACK = 1;
const REP_INFO = 3;
const INFO_EXPORT = 0;
const CMD_READ = 0;
const CMD_DISC = 2;
/** Largest read this client asks for at once, in bytes (qemu-nbd serves up to 32 MiB). */
export const NBD_MAX_READ = 32 * 2 ** 20;

interface Waiter {
  target: Uint8Array;
  offset: number;
  end: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * Bytes received on a socket, handed out in exact amounts to one reader at a time. The socket
 * delivers them through `net.connect`'s `onread` option (see {@link connectNbd}): into one
 * reused buffer, copied straight to the waiting reader's target, so no Buffer is allocated
 * per chunk; only bytes nobody waits for yet are copied aside.
 */
export class ByteQueue {
  private readonly chunks: Uint8Array[] = [];
  private waiter: Waiter | undefined;
  private error: Error | undefined;

  /** Registers the socket's error and close events. */
  attach(socket: Socket): void {
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('the NBD server closed the connection')));
  }

  /** Takes bytes the socket just read into a buffer it will reuse once this returns. */
  feed(transient: Uint8Array): void {
    this.chunks.push(transient);
    this.pump();
    const last = this.chunks.length - 1;
    // What is left of it still views the socket's buffer: keep a copy (Uint8Array slice, never Buffer's view).
    if (last >= 0 && this.chunks[last]!.buffer === transient.buffer) this.chunks[last] = Uint8Array.prototype.slice.call(this.chunks[last]!);
  }

  /** Fills `target[offset, end)` with the next bytes received. */
  readInto(target: Uint8Array, offset: number, end: number): Promise<void> {
    if (this.waiter) return Promise.reject(new Error('NBD client: concurrent reads'));
    return new Promise((resolve, reject) => {
      this.waiter = { target, offset, end, resolve, reject };
      this.pump();
    });
  }

  /** The next `n` bytes received. */
  async read(n: number): Promise<Buffer> {
    const b = Buffer.alloc(n);
    await this.readInto(b, 0, n);
    return b;
  }

  private pump(): void {
    const w = this.waiter;
    if (!w) return;
    while (w.offset < w.end && this.chunks.length > 0) {
      const chunk = this.chunks[0]!;
      const n = Math.min(chunk.length, w.end - w.offset);
      w.target.set(chunk.subarray(0, n), w.offset);
      w.offset += n;
      if (n === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(n);
    }
    if (w.offset === w.end) {
      this.waiter = undefined;
      w.resolve();
    } else if (this.error) {
      this.waiter = undefined;
      w.reject(this.error);
    }
  }

  private fail(err: Error): void {
    this.error ??= err;
    this.pump();
  }
}

/** Size of the buffer the socket reads into, in bytes (replies are copied out of it at once). */
const RECEIVE_BUFFER = 1024 * 1024;

/** Connects to an NBD server's Unix socket; resolves with the socket and the queue its bytes go to. */
export function connectNbd(path: string): Promise<{ socket: Socket; bytes: ByteQueue }> {
  const bytes = new ByteQueue();
  return new Promise((resolve, reject) => {
    const socket = connect({ path, onread: { buffer: Buffer.alloc(RECEIVE_BUFFER), callback: (n: number, buf: Uint8Array) => (bytes.feed(buf.subarray(0, n)), true) } });
    socket.once('connect', () => {
      socket.removeListener('error', reject);
      bytes.attach(socket);
      resolve({ socket, bytes });
    });
    socket.once('error', reject);
  });
}

/** A negotiated NBD connection to the default export ("") of a server. */
export class NbdClient {
  /** Size of the export, in bytes. */
  readonly sizeBytes: number;
  private handle = 0n;
  /** Reads sent and not yet answered, by handle. */
  private readonly pending = new Map<bigint, { target: Uint8Array; resolve: () => void; reject: (err: Error) => void }>();
  /** Promises of the reads sent, until they settle (disconnect() waits for them). */
  private readonly inflight = new Set<Promise<void>>();
  private pumping = false;
  private failure: Error | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly bytes: ByteQueue,
    sizeBytes: number,
  ) {
    this.sizeBytes = sizeBytes;
  }

  /**
   * Negotiates on a connected socket: fixed-newstyle greeting, client flags, NBD_OPT_GO on
   * the default export; the server's NBD_INFO_EXPORT gives the size.
   * @throws Error when the server is not a fixed-newstyle NBD server or refuses the export.
   */
  static async negotiate(socket: Socket, bytes: ByteQueue): Promise<NbdClient> {
    const hello = await bytes.read(18);
    if (hello.readBigUInt64BE(0) !== NBDMAGIC || hello.readBigUInt64BE(8) !== IHAVEOPT) throw new Error('not an NBD newstyle server');
    const serverFlags = hello.readUInt16BE(16);
    if (!(serverFlags & FLAG_FIXED_NEWSTYLE)) throw new Error('the NBD server does not speak fixed newstyle');
    const clientFlags = Buffer.alloc(4);
    clientFlags.writeUInt32BE(FLAG_FIXED_NEWSTYLE | (serverFlags & FLAG_NO_ZEROES));
    // NBD_OPT_GO: u32 name length (0: default export), name, u16 number of info requests (0).
    const option = Buffer.alloc(16 + 6);
    option.writeBigUInt64BE(IHAVEOPT, 0);
    option.writeUInt32BE(OPT_GO, 8);
    option.writeUInt32BE(6, 12);
    socket.write(Buffer.concat([clientFlags, option]));
    let size: number | undefined;
    for (;;) {
      const head = await bytes.read(20);
      if (head.readBigUInt64BE(0) !== OPTION_REPLY_MAGIC) throw new Error('bad NBD option reply');
      const type = head.readUInt32BE(12);
      const payload = await bytes.read(head.readUInt32BE(16));
      if (type === REP_ACK) break;
      if (type === REP_INFO && payload.length >= 12 && payload.readUInt16BE(0) === INFO_EXPORT) {
        size = Number(payload.readBigUInt64BE(2));
      } else if (type & 0x80000000) {
        throw new Error(`the NBD server refused the export (reply ${type >>> 0}): ${payload.subarray(4).toString('utf8')}`);
      }
    }
    if (size === undefined) throw new Error('the NBD server did not send the export size');
    return new NbdClient(socket, bytes, size);
  }

  /**
   * Reads `length` bytes of the export at `offset` into `target` (from index 0). Bytes past the
   * end of the export are left as zeros. Reads may overlap: each is sent at once (in requests of
   * at most 32 MiB) and completes when its reply has arrived.
   */
  read(offset: number, target: Uint8Array, length: number): Promise<void> {
    const inside = Math.max(0, Math.min(length, this.sizeBytes - offset));
    target.fill(0, inside, length);
    const parts: Array<Promise<void>> = [];
    for (let done = 0; done < inside; done += NBD_MAX_READ) {
      parts.push(this.send(offset + done, target.subarray(done, Math.min(inside, done + NBD_MAX_READ))));
    }
    return Promise.all(parts).then(() => undefined);
  }

  /** Waits for the reads in flight, sends NBD_CMD_DISC and closes the socket. */
  async disconnect(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
    if (!this.socket.destroyed) this.socket.end(this.request(CMD_DISC, 0, 0));
  }

  /** Sends one NBD_CMD_READ filling all of `target`. */
  private send(offset: number, target: Uint8Array): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const sent = new Promise<void>((resolve, reject) => {
      this.pending.set(this.handle, { target, resolve, reject });
      this.socket.write(this.request(CMD_READ, offset, target.length));
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
        if (reply.readUInt32BE(0) !== SIMPLE_REPLY_MAGIC) throw new Error('bad NBD reply magic');
        const handle = reply.readBigUInt64BE(8);
        const req = this.pending.get(handle);
        if (!req) throw new Error(`NBD reply for unknown request ${handle}`);
        this.pending.delete(handle);
        const error = reply.readUInt32BE(4);
        if (error !== 0) {
          req.reject(new Error(`NBD read of ${req.target.length} bytes failed with error ${error}`));
          continue;
        }
        await this.bytes.readInto(req.target, 0, req.target.length);
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

  /** A 28-byte transmission request; each gets the next handle. */
  private request(type: number, offset: number, length: number): Buffer {
    const b = Buffer.alloc(28);
    b.writeUInt32BE(REQUEST_MAGIC, 0);
    b.writeUInt16BE(0, 4);
    b.writeUInt16BE(type, 6);
    b.writeBigUInt64BE(this.handle++, 8);
    b.writeBigUInt64BE(BigInt(offset), 16);
    b.writeUInt32BE(length, 24);
    return b;
  }
}
