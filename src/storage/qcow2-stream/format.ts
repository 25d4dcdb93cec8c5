// The qcow2 structures a sequential encoder writes (QEMU docs/interop/qcow2.txt, version 3):
// the header, L1/L2 entries, refcount blocks, and where each lies in a file whose data
// clusters come first and whose metadata follows them.

/** Cluster size: 2^16 = 64 KiB, qemu's default. */
export const CLUSTER_BITS = 16;
export const CLUSTER_BYTES = 2 ** CLUSTER_BITS;
/** L2 entries per table (8-byte entries, no extended L2): one table maps 512 MiB of guest bytes. */
export const L2_ENTRIES = CLUSTER_BYTES / 8;
/** refcount_order 4: 16-bit refcounts, 32768 per refcount block (2 GiB of file). */
export const REFCOUNT_ORDER = 4;
export const REFCOUNTS_PER_BLOCK = (CLUSTER_BYTES * 8) / 2 ** REFCOUNT_ORDER;
/** Version 3 header without the optional compression_type field, then the end-of-extensions marker. */
export const HEADER_LENGTH = 104;
export const HEADER_BYTES = HEADER_LENGTH + 8;
/** QCOW_OFLAG_COPIED: the cluster's refcount is exactly 1 (L1 and L2 entries, bit 63). */
const OFLAG_COPIED = 2n ** 63n;
/** qemu's QCOW_MAX_L1_SIZE (block/qcow2.h), in bytes: 32 MiB of L1 = 2^22 L2 tables = 2 PiB at 64 KiB clusters. */
const MAX_L1_BYTES = 32 * 2 ** 20;

/** Where the metadata of an encoded file lies, in clusters from the start of the file. */
export interface Qcow2Layout {
  /** Virtual size written in the header, in bytes: the capacity rounded up to 512 (qemu counts whole sectors). */
  readonly sizeBytes: number;
  /** Entries of the L1 table: one per 512 MiB of virtual size. */
  readonly l1Entries: number;
  /** Data clusters, placed from cluster 1 on (cluster 0 is the header). */
  readonly dataClusters: number;
  /** First cluster of the L2 tables (one per L1 entry that maps any data cluster), and their count. */
  readonly l2Start: number;
  readonly l2Tables: number;
  readonly l1Start: number;
  readonly l1Clusters: number;
  readonly refTableStart: number;
  readonly refTableClusters: number;
  readonly refBlockStart: number;
  readonly refBlocks: number;
  /** Clusters of the whole file; every one has refcount 1. */
  readonly totalClusters: number;
}

/** Entries of the L1 table of a disk of `sizeBytes`. @throws RangeError above qemu's L1 limit. */
export function l1EntriesFor(sizeBytes: number): number {
  const entries = Math.ceil(sizeBytes / (CLUSTER_BYTES * L2_ENTRIES));
  if (entries * 8 > MAX_L1_BYTES) throw new RangeError(`a qcow2 image of ${sizeBytes} bytes needs an L1 table above qemu's limit of ${MAX_L1_BYTES} bytes`);
  return entries;
}

/**
 * The layout of a file holding `dataClusters` data clusters mapped by `l2Tables` L2 tables:
 * header | data | L2 tables | L1 table | refcount table | refcount blocks. The refcount
 * blocks cover every cluster of the file, themselves included (fixed point of their count).
 */
export function layoutFor(capacityBytes: number, dataClusters: number, l2Tables: number): Qcow2Layout {
  const sizeBytes = Math.ceil(capacityBytes / 512) * 512;
  const l1Entries = l1EntriesFor(sizeBytes);
  const l1Clusters = Math.ceil((l1Entries * 8) / CLUSTER_BYTES);
  const l2Start = 1 + dataClusters;
  const l1Start = l2Start + l2Tables;
  const refTableStart = l1Start + l1Clusters;
  let refBlocks = 1;
  let refTableClusters = 1;
  for (;;) {
    const total = refTableStart + refTableClusters + refBlocks;
    const blocks = Math.ceil(total / REFCOUNTS_PER_BLOCK);
    const tableClusters = Math.ceil((blocks * 8) / CLUSTER_BYTES);
    if (blocks === refBlocks && tableClusters === refTableClusters) break;
    refBlocks = blocks;
    refTableClusters = tableClusters;
  }
  const refBlockStart = refTableStart + refTableClusters;
  return { sizeBytes, l1Entries, dataClusters, l2Start, l2Tables, l1Start, l1Clusters, refTableStart, refTableClusters, refBlockStart, refBlocks, totalClusters: refBlockStart + refBlocks };
}

/** The header (version 3, no backing file, no encryption, no snapshots) and the end-of-extensions marker. */
export function encodeHeader(l: Qcow2Layout): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  h.write('QFI\xfb', 0, 'latin1');
  h.writeUInt32BE(3, 4); // version
  h.writeUInt32BE(CLUSTER_BITS, 20);
  h.writeBigUInt64BE(BigInt(l.sizeBytes), 24);
  h.writeUInt32BE(l.l1Entries, 36);
  h.writeBigUInt64BE(l.l1Entries > 0 ? BigInt(l.l1Start) * BigInt(CLUSTER_BYTES) : 0n, 40);
  h.writeBigUInt64BE(BigInt(l.refTableStart) * BigInt(CLUSTER_BYTES), 48);
  h.writeUInt32BE(l.refTableClusters, 56);
  h.writeUInt32BE(REFCOUNT_ORDER, 96);
  h.writeUInt32BE(HEADER_LENGTH, 100);
  return h; // bytes 104-111: extension type 0 (end), length 0
}

/** An L1 or L2 entry naming the cluster at file cluster index `cluster`, with refcount 1. */
export function tableEntry(cluster: number): bigint {
  return OFLAG_COPIED | (BigInt(cluster) << BigInt(CLUSTER_BITS));
}

/** The refcount table: entry i names refcount block i (placed from `l.refBlockStart`). */
export function encodeRefcountTable(l: Qcow2Layout): Buffer {
  const t = Buffer.alloc(l.refTableClusters * CLUSTER_BYTES);
  for (let i = 0; i < l.refBlocks; i++) t.writeBigUInt64BE(BigInt(l.refBlockStart + i) * BigInt(CLUSTER_BYTES), i * 8);
  return t;
}

/** Refcount block `i`: refcount 1 for every cluster of the file it covers, 0 past the end. */
export function encodeRefcountBlock(l: Qcow2Layout, i: number): Buffer {
  const b = Buffer.alloc(CLUSTER_BYTES);
  const n = Math.min(REFCOUNTS_PER_BLOCK, l.totalClusters - i * REFCOUNTS_PER_BLOCK);
  for (let k = 0; k < n; k++) b.writeUInt16BE(1, k * 2);
  return b;
}
