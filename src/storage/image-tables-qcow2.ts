// Bounds check of a qcow2 image's refcount, L1 and L2 tables (QEMU docs/interop/qcow2.txt,
// versions 2 and 3) before qemu-img reads them: qemu validates only the tables' alignment, and
// reads a table or data cluster beyond the end of the file as zeros.
import { TableReader, type ImageBytes } from './image-tables.js';

/** qemu's limits (block/qcow2.h): QCOW_MAX_L1_SIZE and QCOW_MAX_REFTABLE_SIZE, in bytes. */
const MAX_L1_BYTES = 32 * 2 ** 20;
const MAX_REFTABLE_BYTES = 8 * 2 ** 20;
/** incompatible_features bit 4: extended L2 entries (16 bytes, with a subcluster bitmap). */
const INCOMPAT_EXTENDED_L2 = 16n;
/** L2 entry bit 62: compressed cluster descriptor. */
const COMPRESSED_FLAG_HI = 0x40000000;

/** The header fields the tables depend on (sizes and offsets in bytes). */
interface Geometry {
  readonly clusterBits: number;
  readonly clusterBytes: number;
  readonly virtualSize: number;
  readonly l2EntryBytes: number;
  readonly l2Entries: number;
}

/** An offset made of the high and low 32 bits of an entry, exactly, for messages. */
const exact = (hi: number, lo: number): string => ((BigInt(hi) << 32n) | BigInt(lo >>> 0)).toString();

/**
 * Checks, as qemu's block/qcow2*.c would read them, that:
 * - the refcount table (refcount_table_offset, refcount_table_clusters, at most 8 MiB) is
 *   cluster-aligned and inside the image, and each non-zero entry names a cluster-aligned
 *   refcount block inside it;
 * - the L1 table (l1_table_offset, l1_size × 8 bytes, at most 32 MiB) is cluster-aligned and
 *   inside the image, and each non-zero entry (bits 9-55) names a cluster-aligned L2 table
 *   inside it;
 * - in each L2 table that maps guest bytes below the virtual size ("L2 table i" is the one L1
 *   entry i names), each entry below the virtual size names a cluster-aligned data cluster whose
 *   bytes up to the virtual size lie inside the image, or, when compressed (bit 62), a
 *   descriptor whose offset and sector count lie inside it (the last sector may end in the
 *   padding to 512 bytes). Zero clusters (bit 0, without extended L2) are not read by qemu.
 * Snapshot L1 tables are not read (qemu-img convert reads the active one).
 * `head` is the image's first bytes, already checked by image-check.ts (version 2 or 3,
 * cluster_bits 9-21, no backing or data file).
 * @throws PackageError naming the table, the entry and the offset that lies outside.
 */
export async function checkQcow2Tables(img: ImageBytes, head: Buffer): Promise<void> {
  const reader = new TableReader(img);
  const clusterBits = head.readUInt32BE(20);
  const clusterBytes = 2 ** clusterBits;
  const extended = head.readUInt32BE(4) === 3 && (head.readBigUInt64BE(72) & INCOMPAT_EXTENDED_L2) !== 0n;
  const l2EntryBytes = extended ? 16 : 8;
  const g: Geometry = { clusterBits, clusterBytes, virtualSize: Number(head.readBigUInt64BE(24)), l2EntryBytes, l2Entries: clusterBytes / l2EntryBytes };
  const [l1Size, l1Offset] = [head.readUInt32BE(36), Number(head.readBigUInt64BE(40))];
  const [refOffset, refClusters] = [Number(head.readBigUInt64BE(48)), head.readUInt32BE(56)];
  const end = `the end of the image (${img.size} bytes)`;

  /** Refuses a table of `bytes` at `offset` that is unaligned or not inside the image. */
  const placeTable = (name: string, offset: number, bytes: number, max: number): void => {
    if (bytes > max) throw img.refuse(`has a qcow2 ${name} of ${bytes} bytes, above qemu's limit of ${max}`);
    if (offset % clusterBytes !== 0) throw img.refuse(`has a qcow2 ${name} at offset ${offset}, not aligned to its ${clusterBytes}-byte clusters`);
    if (!reader.inside(offset, bytes)) throw img.refuse(`its qcow2 ${name} (offset ${offset}, ${bytes} bytes) runs past ${end}`);
  };
  /** Refuses entry `name` unless it names a whole aligned cluster inside the image. */
  const cluster = (name: string, what: string, offset: number, hi: number, lo: number): void => {
    if (offset % clusterBytes !== 0) throw img.refuse(`${name} points to ${what} at offset ${exact(hi, lo)}, not aligned to the ${clusterBytes}-byte clusters`);
    if (!reader.inside(offset, clusterBytes)) throw img.refuse(`${name} points to ${what} at offset ${exact(hi, lo)}, beyond ${end}`);
  };

  placeTable('refcount table', refOffset, refClusters * clusterBytes, MAX_REFTABLE_BYTES);
  for await (const { first, buf } of reader.chunks(refOffset, (refClusters * clusterBytes) / 8, 8, 'refcount table')) {
    for (let k = 0; k < buf.length / 8; k++) {
      const [hi, lo] = [buf.readUInt32BE(k * 8), buf.readUInt32BE(k * 8 + 4) & 0xfffffe00];
      const offset = hi * 2 ** 32 + (lo >>> 0);
      if (offset !== 0) cluster(`refcount table entry ${first + k}`, 'a refcount block', offset, hi, lo);
    }
  }

  placeTable('L1 table', l1Offset, l1Size * 8, MAX_L1_BYTES);
  const used = Math.ceil(g.virtualSize / (clusterBytes * g.l2Entries));
  for await (const { first, buf } of reader.chunks(l1Offset, l1Size, 8, 'L1 table')) {
    for (let k = 0; k < buf.length / 8; k++) {
      const [hi, lo] = [buf.readUInt32BE(k * 8) & 0x00ffffff, buf.readUInt32BE(k * 8 + 4) & 0xfffffe00];
      const offset = hi * 2 ** 32 + (lo >>> 0);
      if (offset === 0) continue;
      cluster(`L1 table entry ${first + k}`, 'an L2 table', offset, hi, lo);
      if (first + k < used) checkL2(img, reader, g, first + k, await reader.table(offset, clusterBytes, 'L2 tables'));
    }
  }
}

/** Checks the entries of the L2 table that L1 entry `index` names (its bytes `l2`). */
function checkL2(img: ImageBytes, reader: TableReader, g: Geometry, index: number, l2: Buffer): void {
  const end = `the end of the image (${img.size} bytes)`;
  const paddedEnd = Math.ceil(img.size / 512) * 512;
  const offsetBits = 62 - (g.clusterBits - 8); // compressed descriptor: host offset in bits 0..offsetBits-1
  const sectorMask = 2 ** (g.clusterBits - 8) - 1;
  for (let j = 0; j < g.l2Entries; j++) {
    const guest = (index * g.l2Entries + j) * g.clusterBytes;
    if (guest >= g.virtualSize) break;
    const name = `L2 table ${index} entry ${j}`;
    const [hi, lo] = [l2.readUInt32BE(j * g.l2EntryBytes), l2.readUInt32BE(j * g.l2EntryBytes + 4)];
    if (hi & COMPRESSED_FLAG_HI) {
      const offHi = hi & (2 ** (offsetBits - 32) - 1);
      const offset = offHi * 2 ** 32 + lo;
      const bytes = (((hi >>> (offsetBits - 32)) & sectorMask) + 1) * 512 - (offset % 512);
      if (offset >= img.size) throw img.refuse(`${name} points to a compressed cluster at offset ${exact(offHi, lo)}, beyond ${end}`);
      if (offset + bytes > paddedEnd) throw img.refuse(`${name} points to a compressed cluster (offset ${offset}, ${bytes} bytes) that runs past ${end}`);
      continue;
    }
    const [offHi, offLo] = [hi & 0x00ffffff, (lo & 0xfffffe00) >>> 0];
    const offset = offHi * 2 ** 32 + offLo;
    if (offset === 0 || (g.l2EntryBytes === 8 && lo & 1)) continue; // unallocated, or a zero cluster
    if (offset % g.clusterBytes !== 0) throw img.refuse(`${name} points to a data cluster at offset ${exact(offHi, offLo)}, not aligned to the ${g.clusterBytes}-byte clusters`);
    const need = Math.min(g.clusterBytes, g.virtualSize - guest);
    if (offset >= img.size) throw img.refuse(`${name} points to a data cluster at offset ${exact(offHi, offLo)}, beyond ${end}`);
    if (!reader.inside(offset, need)) throw img.refuse(`${name} points to a data cluster (offset ${offset}, ${need} bytes) that runs past ${end}`);
  }
}
