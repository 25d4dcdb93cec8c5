// A DiskSink that uploads a volume's bytes through a sparse libvirt stream (virStorageVolUpload).
import type { Connection, StorageVolume, Stream } from '../libvirt/index.js';
import { VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM } from '../libvirt/index.js';
import type { DiskSink } from '../storage/sink.js';

/**
 * Bytes per virStreamSend. Measured over qemu+tcp to the namespace libvirtd (scripts/bench-stream-chunk.ts,
 * 512 MiB dense): 256 KiB and below pay a worker-thread call and an RPC round per chunk; 1 MiB
 * and above run at the transport's speed. See the table in docs/ARCHITECTURE.md.
 */
export const STREAM_CHUNK_BYTES = 4 * 2 ** 20;

/**
 * Keepalive while a sink is open on a connection: a daemon whose stream queue is full stops
 * reading the connection, probes included, so the usual 2 s x 2 closes a busy but healthy
 * connection on a loaded host (measured). A hung daemon is still found within about 30 s, and
 * an abort (SIGINT) gives up the call in flight at once (Connection.interrupt).
 */
const STREAM_KEEPALIVE = { intervalSeconds: 5, count: 5 } as const;
/** Sinks open per connection: keepalive is restored when the last one ends. */
const openSinks = new WeakMap<Connection, number>();

/** What openStreamSink needs. Offsets and sizes in bytes. */
export interface StreamSinkOptions {
  readonly conn: Connection;
  /** The target volume; it must live on `conn`. */
  readonly volume: StorageVolume;
  /** Bytes the sink covers: the sink's offset 0 is the volume's `offsetBytes`. */
  readonly capacityBytes: number;
  /** Where in the volume the range starts. @default 0 */
  readonly offsetBytes?: number;
  /** For messages, e.g. `volume "app-disk1.img" (stream)`. */
  readonly label: string;
  /** Bytes per virStreamSend. @default STREAM_CHUNK_BYTES */
  readonly chunkBytes?: number;
}

/**
 * Opens a sparse upload of [offsetBytes, offsetBytes + capacityBytes) of `volume`
 * (virStorageVolUpload with VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM) and returns the sink feeding it.
 * The bytes go to the volume as they are: a qcow2 volume needs qcow2 bytes (an encoder in front).
 * The "upload this range at this offset" primitive of the qcow2 encoder: one sink per range.
 * @throws LibvirtError when libvirt refuses the upload (range outside the volume, a pool type without upload, e.g. rbd).
 */
export async function openStreamSink(opts: StreamSinkOptions): Promise<StreamSink> {
  const { conn } = opts;
  const stream = conn.newStream();
  const count = openSinks.get(conn) ?? 0;
  if (count === 0) conn.setKeepAlive(STREAM_KEEPALIVE.intervalSeconds, STREAM_KEEPALIVE.count);
  openSinks.set(conn, count + 1);
  const ended = (): void => {
    const left = (openSinks.get(conn) ?? 1) - 1;
    openSinks.set(conn, left);
    if (left === 0 && !conn.closed) conn.setKeepAlive();
  };
  try {
    await opts.volume.upload(stream, opts.offsetBytes ?? 0, opts.capacityBytes, VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM);
  } catch (err) {
    stream.free();
    ended();
    throw err;
  }
  return new StreamSink(stream, opts.capacityBytes, opts.label, opts.chunkBytes ?? STREAM_CHUNK_BYTES, ended);
}

/**
 * Sequential sink over a sparse upload stream: written bytes are gathered into chunks of
 * `chunkBytes` (virStreamSend; one chunk in flight while the next fills), zero ranges and gaps
 * become holes (virStreamSendHole, adjacent ones merged), finish() sends the tail as a hole and
 * ends the stream (virStreamFinish). Every write is copied, so callers may reuse their buffer at once.
 */
export class StreamSink implements DiskSink {
  readonly sequential = true;
  #position = 0;
  #pendingHole = 0;
  #fill: Buffer;
  #spare: Buffer | undefined;
  #used = 0;
  #chain: Promise<void> = Promise.resolve();
  #error: Error | undefined;
  #sent = 0;
  #holes = 0;
  #calls = 0;
  #closed = false;
  #aborted = false;
  #claimed = 0;
  #ops: Promise<void> = Promise.resolve();

  constructor(
    private readonly stream: Stream,
    readonly capacityBytes: number,
    readonly label: string,
    private readonly chunkBytes: number,
    private readonly ended: () => void = () => {},
  ) {
    this.#fill = Buffer.allocUnsafe(chunkBytes);
    this.#spare = Buffer.allocUnsafe(chunkBytes);
  }

  /** Bytes of data handed to virStreamSend so far (holes not counted). */
  get bytesWritten(): number {
    return this.#sent;
  }

  /** Bytes declared holes so far (virStreamSendHole). */
  get holeBytes(): number {
    return this.#holes;
  }

  /** virStreamSend and virStreamSendHole calls made so far. */
  get streamCalls(): number {
    return this.#calls;
  }

  write(offset: number, data: Uint8Array): Promise<void> {
    this.#claim(offset, data.length);
    return this.#serial(async () => {
      await this.#holeUntil(offset);
      if (data.length > 0) this.#flushHole();
      let done = 0;
      while (done < data.length) {
        const n = Math.min(data.length - done, this.chunkBytes - this.#used);
        this.#fill.set(data.subarray(done, done + n), this.#used);
        this.#used += n;
        done += n;
        if (this.#used === this.chunkBytes) await this.#flushData();
      }
      this.#position = offset + data.length;
    });
  }

  zero(offset: number, length: number): Promise<void> {
    this.#claim(offset, length);
    return this.#serial(async () => {
      await this.#holeUntil(offset + length);
    });
  }

  finish(): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`${this.label}: finish after the transfer ended`));
    this.#closed = true;
    return this.#serial(async () => {
      try {
        await this.#flushData();
        await this.#holeUntil(this.capacityBytes);
        this.#flushHole();
        await this.#settled();
        await this.stream.finish();
      } catch (err) {
        await this.stream.abort().catch(() => undefined);
        throw err;
      } finally {
        this.stream.free();
        this.#end();
      }
    });
  }

  async abort(): Promise<void> {
    if (this.#aborted) return;
    this.#aborted = this.#closed = true;
    await this.#ops.catch(() => undefined);
    await this.#chain.catch(() => undefined);
    await this.stream.abort().catch(() => undefined);
    this.stream.free();
    this.#end();
  }

  #ended = false;
  /** Once per sink: gives the connection's keepalive back when no other sink is open on it. */
  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    try {
      this.ended();
    } catch {
      // A connection libvirt closed meanwhile: nothing to restore.
    }
  }

  /**
   * Checks a range when it is handed over and claims it: RangeError outside the disk or before
   * the end of the last range (a stream cannot seek back).
   */
  #claim(offset: number, length: number): void {
    if (this.#closed) throw new Error(`${this.label}: write after the transfer ended`);
    if (this.#error) throw this.#error;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.capacityBytes) {
      throw new RangeError(`${this.label}: range [${offset}, +${length}) outside the disk of ${this.capacityBytes} bytes`);
    }
    if (offset < this.#claimed) throw new RangeError(`${this.label}: range at ${offset} comes after ${this.#claimed} on a sequential sink`);
    this.#claimed = offset + length;
  }

  /** Runs public operations one after another, in the order they were called. */
  #serial(op: () => Promise<void>): Promise<void> {
    const run = this.#ops.then(op);
    this.#ops = run.catch(() => undefined);
    return run;
  }

  /** Everything from the position to `end` reads as zeros: gathered data leaves first, then the range joins the pending hole. */
  async #holeUntil(end: number): Promise<void> {
    if (end <= this.#position) return;
    await this.#flushData();
    this.#pendingHole += end - this.#position;
    this.#position = end;
  }

  /** Queues the gathered chunk (waiting for the chunk before it when both buffers are taken). */
  async #flushData(): Promise<void> {
    if (this.#used === 0) return;
    const full = this.#fill.subarray(0, this.#used);
    const owner = this.#fill;
    if (this.#spare === undefined) await this.#settled();
    this.#fill = this.#spare ?? Buffer.allocUnsafe(this.chunkBytes);
    this.#spare = undefined;
    this.#used = 0;
    this.#enqueue(async () => {
      await this.stream.sendAll(full);
      this.#sent += full.length;
      this.#calls++;
      this.#spare = owner;
    });
  }

  /** Queues the pending hole (gathered data and pending hole never coexist: a hole flushes the data first). */
  #flushHole(): void {
    const length = this.#pendingHole;
    if (length === 0) return;
    this.#pendingHole = 0;
    this.#enqueue(async () => {
      await this.stream.sendHole(length);
      this.#holes += length;
      this.#calls++;
    });
  }

  #enqueue(op: () => Promise<void>): void {
    this.#chain = this.#chain.then(async () => {
      if (this.#error) return;
      try {
        await op();
      } catch (err) {
        this.#error = err as Error;
      }
    });
  }

  /** Waits for every queued call; rethrows the first failure. */
  async #settled(): Promise<void> {
    await this.#chain;
    if (this.#error) throw this.#error;
  }
}
