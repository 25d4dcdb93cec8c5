// A DiskSink that uploads a volume's bytes through a libvirt stream (virStorageVolUpload): sparse,
// or plain with zeros for a volume that may hold old data.
import type { Connection, StorageVolume, Stream } from '../libvirt/index.js';
import { VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM } from '../libvirt/index.js';
import type { DiskSink } from '../storage/sink.js';
import { holdStreamKeepAlive } from './keepalive.js';

/**
 * Bytes per virStreamSend, measured with scripts/bench-stream-chunk.ts (256 MiB dense into a raw
 * volume of the namespace libvirtd, 2 cores shared with other work, best of 2):
 *
 *   chunk     qemu+tcp   qemu+ssh
 *   64 KiB     99 MiB/s   38 MiB/s
 *   128 KiB    89 MiB/s   28 MiB/s
 *   256 KiB   187 MiB/s   35 MiB/s
 *   512 KiB    45 MiB/s   15 MiB/s
 *   1 MiB      29 MiB/s   18 MiB/s
 *   2 MiB      23 MiB/s   14 MiB/s
 *   4 MiB      29 MiB/s   15 MiB/s
 *   8 MiB      32 MiB/s   14 MiB/s
 *
 * Below 256 KiB each chunk pays a worker-thread call and an RPC; above it libvirt 9.0 slows down
 * sharply (a stream message larger than its 256 KiB legacy payload is written by the daemon in
 * pieces, one event-loop turn each), so 256 KiB it is.
 */
export const STREAM_CHUNK_BYTES = 256 * 1024;

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
  /**
   * The volume may hold old data (an existing volume the admin named): zero ranges and gaps are
   * sent as zeros over a plain (not sparse) upload, never as holes. @default false
   */
  readonly holdsData?: boolean;
}

/**
 * Opens a sparse upload of [offsetBytes, offsetBytes + capacityBytes) of `volume`
 * (virStorageVolUpload with VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM) and returns the sink feeding it.
 * The bytes go to the volume as they are: a qcow2 volume needs qcow2 bytes (an encoder in front).
 * The "upload this range at this offset" primitive of the qcow2 encoder: one sink per range.
 * @throws LibvirtError when libvirt refuses the upload (range outside the volume, a pool type without upload, e.g. rbd).
 */
export async function openStreamSink(opts: StreamSinkOptions): Promise<StreamSink> {
  const stream = opts.conn.newStream();
  const release = holdStreamKeepAlive(opts.conn);
  try {
    await opts.volume.upload(stream, opts.offsetBytes ?? 0, opts.capacityBytes, opts.holdsData ? 0 : VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM);
  } catch (err) {
    stream.free();
    release();
    throw err;
  }
  return new StreamSink(stream, opts.capacityBytes, opts.label, opts.chunkBytes ?? STREAM_CHUNK_BYTES, release, opts.holdsData === true);
}

/**
 * The volume must read as zeros where the sink sends holes (a volume just created): libvirt 9.0
 * turns a hole into lseek + ftruncate(2) at its end on a file, which leaves the old bytes there
 * and cuts the file at that point until later data or the final hole (finish() always reaches
 * capacityBytes) extends it again. So a sink over a range inside a larger volume (offsetBytes)
 * must not receive zero ranges or gaps.
 *
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
  #zeros: Buffer | undefined;

  constructor(
    private readonly stream: Stream,
    readonly capacityBytes: number,
    readonly label: string,
    private readonly chunkBytes: number,
    private readonly ended: () => void = () => {},
    /** Zero ranges go out as zeros (the target may hold old data; the stream is not sparse). */
    private readonly holesAsZeros = false,
  ) {
    this.#fill = Buffer.allocUnsafe(chunkBytes);
    this.#spare = Buffer.allocUnsafe(chunkBytes);
  }

  /** Bytes of data handed to virStreamSend so far (holes not counted). */
  get bytesWritten(): number {
    return this.#sent;
  }

  /** Bytes declared holes so far (virStreamSendHole; sent as zeros when the target holds data). */
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
    this.ended();
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
    if (this.holesAsZeros) {
      this.#zeros ??= Buffer.alloc(this.chunkBytes);
      const zeros = this.#zeros;
      this.#enqueue(async () => {
        for (let left = length; left > 0; left -= Math.min(left, zeros.length)) {
          await this.stream.sendAll(zeros.subarray(0, Math.min(left, zeros.length)));
          this.#calls++;
        }
        this.#holes += length;
      });
      return;
    }
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
