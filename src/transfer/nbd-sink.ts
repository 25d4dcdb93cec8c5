// A DiskSink writing the guest bytes over NBD into qemu-nbd, which writes the image's format
// (qcow2, raw, a block device, RBD): small adjacent writes are gathered into requests of up to
// 4 MiB, several requests are in flight at once (bounded in bytes), zero ranges become
// NBD_CMD_WRITE_ZEROES (holes allowed) unless the target is known to read zeros already.
import { NbdReplyError } from '../nbd/protocol.js';
import type { DiskSink } from '../storage/sink.js';
import { Coverage } from './coverage.js';
import { openQemuNbd, type NbdImage, type QemuNbd, type QemuNbdOptions } from './qemu-nbd.js';
import type { QemuImage } from './qemu-image.js';

/** Largest request the sink gathers small writes into, in bytes. */
const GATHER_BYTES = 4 * 2 ** 20;
/** Bytes of requests in flight before write() waits for replies (bounds memory). */
const IN_FLIGHT_BYTES = 16 * 2 ** 20;

/** How to open the sink. */
export interface NbdSinkOptions extends Omit<QemuNbdOptions, 'readOnly'> {
  /** The target reads as zeros where nothing is written (a new qcow2 or RBD image): zero() sends nothing. */
  readonly zeroInitialized: boolean;
  /** Short description for messages (DiskSink.label). */
  readonly label: string;
}

/** NBD sink over qemu-nbd on a volume (see the file comment); `sequential` false. */
export class NbdSink implements DiskSink {
  readonly sequential = false;
  readonly label: string;
  readonly capacityBytes: number;
  bytesWritten = 0;
  private gather: Buffer;
  /** Gather buffers whose requests were answered, for reuse (at most IN_FLIGHT_BYTES / GATHER_BYTES + 1 ever exist). */
  private readonly spare: Buffer[] = [];
  private gatherOffset = 0;
  private gatherLength = 0;
  private zeroRun: { offset: number; length: number } | undefined;
  private readonly inflight = new Set<Promise<void>>();
  private inflightBytes = 0;
  private error: unknown;
  /** Ranges written or zeroed, for a target that does not read as zeros by itself. */
  private readonly coverage: Coverage | undefined;

  private constructor(
    private readonly server: QemuNbd,
    opts: NbdSinkOptions,
  ) {
    this.label = opts.label;
    this.capacityBytes = server.client.sizeBytes;
    this.gather = Buffer.allocUnsafeSlow(Math.min(GATHER_BYTES, server.client.maxBlockBytes));
    this.coverage = opts.zeroInitialized ? undefined : new Coverage();
  }

  /**
   * Starts qemu-nbd on `image` (writable) and connects; the capacity is the export's size.
   * @throws ToolError when qemu-nbd cannot serve the image or the export is read-only.
   */
  static async open(image: NbdImage, opts: NbdSinkOptions): Promise<NbdSink> {
    // A zero-initialized target gets no zero writes, so QEMU need not look for zeros or unmap.
    const server = await openQemuNbd(image, { unmap: !opts.zeroInitialized, ...opts });
    if (!server.client.writable) {
      await server.kill();
      throw await server.failure(new Error('the export is read-only'));
    }
    return new NbdSink(server, opts);
  }

  /** @throws RangeError outside the disk; the first transfer error (ToolError, or NbdReplyError ENOSPC/EDQUOT). */
  async write(offset: number, data: Uint8Array): Promise<void> {
    this.check(offset, data.length);
    this.coverage?.add(offset, data.length);
    this.bytesWritten += data.length;
    // The state changes synchronously: concurrent calls never see a half-updated gather buffer.
    if (this.gatherLength > 0 && offset === this.gatherOffset + this.gatherLength && this.gatherLength + data.length <= this.gather.length) {
      this.gather.set(data, this.gatherLength);
      this.gatherLength += data.length;
      return;
    }
    this.sendGathered();
    if (data.length > this.gather.length / 2) {
      // Large enough to go as it is: the caller keeps the buffer until this resolves.
      await this.send(this.server.client.write(offset, data), data.length);
    } else {
      this.gather.set(data, 0);
      this.gatherOffset = offset;
      this.gatherLength = data.length;
    }
    await this.drain(IN_FLIGHT_BYTES);
  }

  /** @throws as write. */
  async zero(offset: number, length: number): Promise<void> {
    this.check(offset, length);
    if (!this.coverage || length === 0) return;
    this.coverage.add(offset, length);
    const run = this.zeroRun;
    if (run && run.offset + run.length === offset) {
      run.length += length;
      return;
    }
    this.sendZeroRun();
    this.zeroRun = { offset, length };
    await this.drain(IN_FLIGHT_BYTES);
  }

  /**
   * Sends what is gathered, zeroes every range never mentioned (unless zero-initialized),
   * flushes (NBD_CMD_FLUSH), disconnects and checks that qemu-nbd closed the image and exited 0.
   * @throws the first transfer error; ToolError when qemu-nbd fails to close the image.
   */
  async finish(): Promise<void> {
    this.throwIfFailed();
    this.sendGathered();
    this.sendZeroRun();
    for (const gap of this.coverage?.gaps(this.capacityBytes) ?? []) void this.send(this.server.client.writeZeroes(gap.offset, gap.length), 0);
    await this.drain(0);
    await this.server.client.flush().catch((err: unknown) => this.fail(err));
    this.throwIfFailed();
    await this.server.close();
  }

  /** Kills qemu-nbd; never throws. The volume stays (the rollback removes it). */
  async abort(): Promise<void> {
    this.error ??= new Error('aborted');
    await this.server.kill();
  }

  private check(offset: number, length: number): void {
    this.throwIfFailed();
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.capacityBytes) {
      throw new RangeError(`${this.label}: range [${offset}, ${offset + length}) outside the disk of ${this.capacityBytes} bytes`);
    }
  }

  private throwIfFailed(): void {
    if (this.error !== undefined) throw this.error;
  }

  /** Sends the gathered bytes; the request keeps the buffer until answered, a spare one gathers the next writes. */
  private sendGathered(): void {
    if (this.gatherLength === 0) return;
    const full = this.gather;
    void this.send(this.server.client.write(this.gatherOffset, full.subarray(0, this.gatherLength)), this.gatherLength).finally(() => this.spare.push(full));
    this.gather = this.spare.pop() ?? Buffer.allocUnsafeSlow(full.length);
    this.gatherLength = 0;
  }

  private sendZeroRun(): void {
    const run = this.zeroRun;
    if (!run) return;
    this.zeroRun = undefined;
    void this.send(this.server.client.writeZeroes(run.offset, run.length), 0);
  }

  /** Tracks a request in flight; resolves when it is answered (never rejects: a failure is recorded for the next call). */
  private send(request: Promise<void>, bytes: number): Promise<void> {
    this.inflightBytes += bytes;
    const tracked = request.then(
      () => undefined,
      (err: unknown) => this.fail(err),
    );
    this.inflight.add(tracked);
    void tracked.finally(() => {
      this.inflight.delete(tracked);
      this.inflightBytes -= bytes;
    });
    return tracked;
  }

  /** Waits until at most `limit` bytes (0: nothing) are in flight. */
  private async drain(limit: number): Promise<void> {
    while (this.inflight.size > 0 && (limit === 0 || this.inflightBytes > limit)) await Promise.race(this.inflight);
    this.throwIfFailed();
  }

  /** Records the first failure: a full target as the NbdReplyError (ENOSPC/EDQUOT), anything else as qemu-nbd's ToolError. */
  private async fail(err: unknown): Promise<void> {
    if (this.error !== undefined) return;
    this.error = err;
    if (!(err instanceof NbdReplyError && (err.code === 'ENOSPC' || err.code === 'EDQUOT'))) this.error = await this.server.failure(err);
  }
}

/**
 * An NbdSink writing `image` (an RBD image, an iSCSI LUN: json: blockdev options with their
 * `--object`s); the image's secret files are released as soon as qemu-nbd has started (it reads
 * them when it parses --object, before it listens), whether or not it started.
 * @throws what NbdSink.open throws.
 */
export async function openQemuImageSink(image: QemuImage, opts: NbdSinkOptions): Promise<NbdSink> {
  try {
    return await NbdSink.open({ kind: 'image-opts', options: image.node, objects: image.objects, label: image.label }, opts);
  } finally {
    await image.release();
  }
}
