// The guest map of a qcow2 image read through ranged reads of its file (QEMU
// docs/interop/qcow2.txt): the header, the L1 table, then each L2 table as the map reaches it.
// For images another host holds (libvirt virStorageVolDownload with offset and length): no
// compression, backing file, external data file, encryption or extended L2 entries.
import type { MapExtent } from '../qemu-img-map.js';

/** Reads `length` bytes at `offset` of the image file; fewer (or none) past its end. */
export type ReadAt = (offset: number, length: number) => Promise<Uint8Array>;

/** Why an image cannot be read this way; the message says what, the caller names the disk. */
export class Qcow2Unsupported extends Error {}

/** The header fields the map needs. Sizes and offsets in bytes. */
export interface Qcow2Geometry {
  readonly version: 2 | 3;
  readonly clusterBytes: number;
  readonly virtualSizeBytes: number;
  readonly l1Offset: number;
  readonly l1Entries: number;
}

/** Bytes of the header a caller reads before parseQcow2Header (the v3 fields end at 104). */
export const QCOW2_HEADER_READ = 512;
/** qemu's QCOW_MAX_L1_SIZE, in bytes. */
const MAX_L1_BYTES = 32 * 2 ** 20;
/** incompatible_features qemu defines: dirty, corrupt, external data file, compression type, extended L2. */
const INCOMPAT_NAMES = ['dirty', 'corrupt', 'an external data file', 'a compression type', 'extended L2 entries'];
/** Of those, the ones a plain reader can ignore: dirty (refcounts may be stale) and the compression type (compressed clusters are refused anyway). */
const INCOMPAT_HARMLESS = 0b01001n;
const OFFSET_MASK = 0x00fffffffffffe00n;
const COMPRESSED = 1n << 62n;
const ZERO_FLAG = 1n;

/**
 * The geometry of the image whose first bytes are `head` (at least 104).
 * @throws Qcow2Unsupported for a file that is not qcow2 version 2 or 3, or that has a backing
 *   file, encryption, an external data file, extended L2 entries, the corrupt bit or an
 *   unknown incompatible feature.
 */
export function parseQcow2Header(head: Uint8Array): Qcow2Geometry {
  const b = Buffer.from(head.buffer, head.byteOffset, head.length);
  if (b.length < 104 || b.toString('latin1', 0, 4) !== 'QFI\xfb') throw new Qcow2Unsupported('it is not a qcow2 image (no QFI\\xfb magic)');
  const version = b.readUInt32BE(4);
  if (version !== 2 && version !== 3) throw new Qcow2Unsupported(`it is qcow2 version ${version}; versions 2 and 3 are read`);
  if (b.readBigUInt64BE(8) !== 0n) throw new Qcow2Unsupported('it has a backing file; export reads a volume on another host only without one');
  const clusterBits = b.readUInt32BE(20);
  if (clusterBits < 9 || clusterBits > 21) throw new Qcow2Unsupported(`its cluster_bits ${clusterBits} is outside 9-21`);
  if (b.readUInt32BE(32) !== 0) throw new Qcow2Unsupported('it is encrypted (qcow2 crypt_method)');
  if (version === 3) {
    const incompat = b.readBigUInt64BE(72) & ~INCOMPAT_HARMLESS;
    for (let bit = 0; bit < 64; bit++) {
      if ((incompat >> BigInt(bit)) & 1n) throw new Qcow2Unsupported(`it has ${INCOMPAT_NAMES[bit] ?? `incompatible feature bit ${bit}`} (qcow2 incompatible_features)`);
    }
  }
  const clusterBytes = 2 ** clusterBits;
  const virtualSizeBytes = Number(b.readBigUInt64BE(24));
  const l1Entries = b.readUInt32BE(36);
  const needed = Math.ceil(virtualSizeBytes / (clusterBytes * (clusterBytes / 8)));
  if (l1Entries < needed || l1Entries * 8 > MAX_L1_BYTES) throw new Qcow2Unsupported(`its L1 table of ${l1Entries} entries does not fit its virtual size of ${virtualSizeBytes} bytes`);
  const l1Offset = Number(b.readBigUInt64BE(40));
  if (l1Offset % clusterBytes !== 0) throw new Qcow2Unsupported(`its L1 table offset ${l1Offset} is not cluster-aligned`);
  return { version, clusterBytes, virtualSizeBytes, l1Offset, l1Entries };
}

/** Reads exactly `length` bytes at `offset` (zeros past the end of the file). */
async function readTable(readAt: ReadAt, offset: number, length: number): Promise<Buffer> {
  const got = await readAt(offset, length);
  const out = Buffer.alloc(length);
  out.set(got.subarray(0, length));
  return out;
}

/**
 * The guest map of the image, as `qemu-img map` gives it: contiguous extents covering the
 * virtual size in guest order, each data (with its offset in the file, `depth` 0) or zero
 * (unallocated or a zero cluster: no backing file). Adjacent clusters stored back to back are
 * one extent. The L1 table is read once, each L2 table when the map reaches it.
 * @throws Qcow2Unsupported at a compressed cluster or a misaligned table or cluster offset;
 *   whatever `readAt` throws.
 */
export async function* qcow2Extents(g: Qcow2Geometry, readAt: ReadAt): AsyncGenerator<MapExtent> {
  const { clusterBytes, virtualSizeBytes: size } = g;
  const l2Entries = clusterBytes / 8;
  const span = clusterBytes * l2Entries;
  const used = Math.ceil(size / span);
  const l1 = await readTable(readAt, g.l1Offset, used * 8);
  let run: { start: number; length: number; offset?: number } | undefined;
  const extent = (r: NonNullable<typeof run>): MapExtent => (r.offset === undefined ? { start: r.start, length: r.length, data: false, zero: true, depth: 0 } : { start: r.start, length: r.length, data: true, zero: false, depth: 0, offset: r.offset });
  /** Adds [start, start + length) stored at `offset` (undefined: zeros); returns the finished run when it cannot be joined. */
  const add = (start: number, length: number, offset: number | undefined): MapExtent | undefined => {
    if (run && (offset === undefined ? run.offset === undefined : run.offset !== undefined && run.offset + run.length === offset)) {
      run.length += length;
      return undefined;
    }
    const done = run && extent(run);
    run = { start, length, ...(offset !== undefined ? { offset } : {}) };
    return done;
  };
  for (let i = 0; i < used; i++) {
    const base = i * span;
    const l2Offset = Number(l1.readBigUInt64BE(i * 8) & OFFSET_MASK);
    if (l2Offset === 0) {
      const done = add(base, Math.min(span, size - base), undefined);
      if (done) yield done;
      continue;
    }
    if (l2Offset % clusterBytes !== 0) throw new Qcow2Unsupported(`its L1 entry ${i} names an L2 table at ${l2Offset}, not cluster-aligned`);
    const l2 = await readTable(readAt, l2Offset, clusterBytes);
    for (let j = 0; j < l2Entries && base + j * clusterBytes < size; j++) {
      const start = base + j * clusterBytes;
      const entry = l2.readBigUInt64BE(j * 8);
      if (entry & COMPRESSED) throw new Qcow2Unsupported(`guest offset ${start} is a compressed cluster; export reads a volume on another host only without compression`);
      const offset = Number(entry & OFFSET_MASK);
      if (offset % clusterBytes !== 0) throw new Qcow2Unsupported(`guest offset ${start} is stored at ${offset}, not cluster-aligned`);
      const data = offset !== 0 && !(g.version === 3 && entry & ZERO_FLAG);
      const done = add(start, Math.min(clusterBytes, size - start), data ? offset : undefined);
      if (done) yield done;
    }
  }
  if (run) yield extent(run);
}
