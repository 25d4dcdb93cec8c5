// Bytes received from an NBD server's socket, handed out in exact amounts, and the connection to its Unix socket.
import { connect, type Socket } from 'node:net';

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
