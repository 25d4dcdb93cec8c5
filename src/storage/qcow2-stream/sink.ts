// A DiskSink that writes a qcow2 file in one pass, in file order, through an uploader: the data
// clusters first (as the guest ranges arrive), then the metadata, then the header at offset 0.
//
// Why this layout works over libvirt (measured with virsh against libvirtd 9.0.0, a dir pool
// and a qcow2 volume, see the report of issue 10):
// - virStorageVolUpload with an offset writes in place: bytes before and after the range are
//   kept, the file is never truncated, only extended when the range ends past its end; a
//   second upload at offset 0 keeps what the first one wrote;
// - a volume of format qcow2 takes any bytes (libvirt writes the file, not guest bytes), with
//   no bound check against the capacity; after each upload libvirt refreshes the volume from
//   the file (capacity and format from the header written);
// - the sparse flag is NOT usable here: a hole received in a sparse upload is an lseek plus
//   ftruncate(2) at the hole's end, so a hole shortens the file there (a 4-byte upload with a
//   leading hole cut a 1 MB qcow2 to 8 bytes) and leaves the old bytes of the range in place
//   instead of zeros. This encoder therefore sends no holes: its data clusters are packed.
// - libvirt sets no size at the end: the file is max(old size, end of the last range); its
//   fresh qcow2 volume (qemu-img create) is at most as long as what this encoder writes
//   (header, L1, refcount table and block at least), and any older tail would be unreferenced.

import type { DiskSink } from '../sink.js';
import { ChunkChannel } from './channel.js';
import { CLUSTER_BYTES, encodeHeader, encodeRefcountBlock, encodeRefcountTable, L2_ENTRIES, layoutFor, l1EntriesFor, tableEntry, type Qcow2Layout } from './format.js';
import type { VolumeUploader } from './uploader.js';

/** Options of {@link Qcow2StreamSink}. */
export interface Qcow2StreamOptions {
  /** Virtual size of the disk, in bytes (rounded up to 512 in the header, as qemu does). */
  readonly capacityBytes: number;
  /** Where the file's bytes go (offset 0 is the start of the volume). */
  readonly uploader: VolumeUploader;
  /** For messages, e.g. `volume "app-disk1.qcow2" (libvirt stream, qcow2)`. */
  readonly label: string;
  /** Bytes of one upload chunk (the stream's send size). @default 1 MiB */
  readonly chunkBytes?: number;
  /** Bytes queued for the uploader before write() waits. @default 8 MiB */
  readonly queueBytes?: number;
}

/** What the encoder wrote, in bytes and clusters. */
export interface Qcow2StreamResult {
  readonly layout: Qcow2Layout;
  /** Bytes handed to the uploader (both uploads): the file's length plus the header written twice. */
  readonly bytesUploaded: number;
  /** Length of the file (every cluster of it is referenced). */
  readonly fileBytes: number;
}

const ZERO_CLUSTER = Buffer.alloc(CLUSTER_BYTES);

/**
 * Encodes the guest ranges it receives (ascending, as DiskSink's sequential contract says) as
 * a qcow2 version 3 file, cluster 64 KiB, refcount_order 4, no compression, no backing file:
 *
 *   cluster 0: zeros, then the header (second upload, last) | data clusters in guest order |
 *   L2 tables | L1 table | refcount table | refcount blocks
 *
 * Clusters that hold only zeros are not stored (they read as zeros: no backing file). One
 * upload at offset 0 carries the whole file except the header, pulled by the uploader from a
 * bounded queue; a second upload of the header at offset 0 makes it a qcow2 image, so an
 * interrupted transfer leaves a file that no one opens as qcow2. Memory: one cluster being
 * filled, the queue, and 8 bytes per stored cluster (its guest cluster number) until finish.
 * `result` tells what was written once finish() resolved.
 */
export class Qcow2StreamSink implements DiskSink {
  readonly label: string;
  readonly capacityBytes: number;
  readonly sequential = true;
  #bytesWritten = 0;
  #bytesUploaded = 0;
  /** Guest cluster number of each stored cluster, in order; stored cluster i is file cluster 1 + i. */
  #mapped = new Float64Array(1024);
  #count = 0;
  /** End of the last range received (guest bytes). */
  #position = 0;
  #cluster = -1;
  readonly #buffer = Buffer.alloc(CLUSTER_BYTES);
  #dirty = false;
  #out: Buffer;
  #outUsed = 0;
  readonly #channel: ChunkChannel;
  readonly #upload: Promise<void>;
  readonly #uploader: VolumeUploader;
  #state: 'open' | 'finished' | 'aborted' = 'open';
  result: Qcow2StreamResult | undefined;

  /** Starts the first upload (at offset 0). @throws RangeError for a capacity qcow2 cannot hold. */
  constructor(opts: Qcow2StreamOptions) {
    if (!Number.isSafeInteger(opts.capacityBytes) || opts.capacityBytes < 0) throw new RangeError(`capacity ${opts.capacityBytes}: expected a whole number of bytes`);
    l1EntriesFor(opts.capacityBytes);
    this.label = opts.label;
    this.capacityBytes = opts.capacityBytes;
    this.#uploader = opts.uploader;
    this.#out = Buffer.allocUnsafe(opts.chunkBytes ?? 2 ** 20);
    this.#channel = new ChunkChannel(opts.queueBytes ?? 8 * 2 ** 20);
    const channel = this.#channel;
    this.#upload = opts.uploader.upload(0, channel).catch((err: unknown) => {
      channel.fail(err);
      throw err;
    });
    this.#upload.catch(() => undefined); // observed by finish()/write(); avoid an unhandled rejection meanwhile
  }

  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    this.#take(offset, data.length);
    this.#bytesWritten += data.length;
    const src = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    let at = 0;
    while (at < src.length) {
      const pos = offset + at;
      const cluster = Math.floor(pos / CLUSTER_BYTES);
      if (cluster !== this.#cluster) await this.#moveTo(cluster);
      const within = pos - cluster * CLUSTER_BYTES;
      const n = Math.min(CLUSTER_BYTES - within, src.length - at);
      if (n === CLUSTER_BYTES && !this.#dirty) await this.#store(src.subarray(at, at + n));
      else {
        src.copy(this.#buffer, within, at, at + n);
        this.#dirty = true;
      }
      at += n;
    }
  }

  async zero(offset: number, length: number): Promise<void> {
    // The buffered cluster is zero where nothing was written, and clusters never stored read as zeros.
    this.#take(offset, length);
  }

  async finish(): Promise<void> {
    if (this.#state !== 'open') throw new Error(`${this.label}: finish() after ${this.#state === 'finished' ? 'finish()' : 'abort()'}`);
    this.#state = 'finished';
    try {
      await this.#moveTo(-1);
      const tables = this.#l2Count();
      const layout = layoutFor(this.capacityBytes, this.#count, tables);
      await this.#emitMetadata(layout);
      await this.#flushOut();
      this.#channel.close();
      await this.#upload;
      const header = encodeHeader(layout);
      await this.#uploader.upload(0, header);
      this.#bytesUploaded += header.length;
      this.result = { layout, bytesUploaded: this.#bytesUploaded, fileBytes: layout.totalClusters * CLUSTER_BYTES };
    } catch (err) {
      this.#channel.fail(err);
      throw err;
    }
  }

  async abort(): Promise<void> {
    if (this.#state === 'aborted') return;
    this.#state = 'aborted';
    this.#channel.fail(new Error(`${this.label}: transfer aborted`));
    await this.#upload.catch(() => undefined);
  }

  /** Checks that [offset, offset + length) lies in the disk and after the last range, and moves past it. */
  #take(offset: number, length: number): void {
    if (this.#state !== 'open') throw new Error(`${this.label}: a range after ${this.#state === 'finished' ? 'finish()' : 'abort()'}`);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.capacityBytes) {
      throw new RangeError(`${this.label}: range ${offset}+${length} outside the disk of ${this.capacityBytes} bytes`);
    }
    if (offset < this.#position) throw new RangeError(`${this.label}: range at ${offset} before the end of the previous one (${this.#position}): a sequential sink takes ascending ranges`);
    this.#position = offset + length;
  }

  /** Stores the cluster being filled and starts `next` (-1: none). */
  async #moveTo(next: number): Promise<void> {
    if (this.#dirty) {
      await this.#store(this.#buffer);
      this.#buffer.fill(0);
    }
    this.#dirty = false;
    this.#cluster = next;
  }

  /** Stores `bytes` (a whole cluster) as the current cluster, unless it is all zeros. */
  async #store(bytes: Buffer): Promise<void> {
    if (bytes.equals(ZERO_CLUSTER)) return;
    if (this.#count === this.#mapped.length) {
      const grown = new Float64Array(this.#mapped.length * 2);
      grown.set(this.#mapped);
      this.#mapped = grown;
    }
    this.#mapped[this.#count++] = this.#cluster;
    await this.#emit(bytes);
  }

  /** Number of L2 tables: distinct L1 indexes among the stored clusters. */
  #l2Count(): number {
    let n = 0;
    let last = -1;
    for (let i = 0; i < this.#count; i++) {
      const t = Math.floor(this.#mapped[i]! / L2_ENTRIES);
      if (t !== last) n++;
      last = t;
    }
    return n;
  }

  /** The L2 tables, the L1 table, the refcount table and blocks, in file order. */
  async #emitMetadata(layout: Qcow2Layout): Promise<void> {
    const l1 = Buffer.alloc(layout.l1Clusters * CLUSTER_BYTES);
    const l2 = Buffer.alloc(CLUSTER_BYTES);
    let table = -1;
    let placed = 0;
    for (let i = 0; i <= this.#count; i++) {
      const t = i < this.#count ? Math.floor(this.#mapped[i]! / L2_ENTRIES) : -2;
      if (t !== table && table >= 0) {
        l1.writeBigUInt64BE(tableEntry(layout.l2Start + placed++), table * 8);
        await this.#emit(l2);
        l2.fill(0);
      }
      table = t;
      if (i < this.#count) l2.writeBigUInt64BE(tableEntry(1 + i), (this.#mapped[i]! % L2_ENTRIES) * 8);
    }
    await this.#emit(l1);
    await this.#emit(encodeRefcountTable(layout));
    for (let i = 0; i < layout.refBlocks; i++) await this.#emit(encodeRefcountBlock(layout, i));
  }

  /** Appends `bytes` to the upload (copied into the output chunk), after the zero header cluster on the first call. */
  async #emit(bytes: Buffer): Promise<void> {
    if (this.#bytesUploaded === 0 && this.#outUsed === 0) await this.#append(ZERO_CLUSTER);
    await this.#append(bytes);
  }

  async #append(bytes: Buffer): Promise<void> {
    for (let at = 0; at < bytes.length; ) {
      const n = Math.min(bytes.length - at, this.#out.length - this.#outUsed);
      bytes.copy(this.#out, this.#outUsed, at, at + n);
      this.#outUsed += n;
      at += n;
      if (this.#outUsed === this.#out.length) await this.#flushOut();
    }
  }

  async #flushOut(): Promise<void> {
    if (this.#outUsed === 0) return;
    const whole = this.#out;
    const chunk = whole.subarray(0, this.#outUsed);
    this.#bytesUploaded += chunk.length;
    this.#out = this.#channel.reclaim() ?? Buffer.allocUnsafe(whole.length);
    this.#outUsed = 0;
    await this.#channel.push(chunk, whole);
  }
}
