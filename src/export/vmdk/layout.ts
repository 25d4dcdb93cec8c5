// Where each grain of a stream-optimized VMDK lands, and the metadata that follows the grains:
// grain tables (each after the grains it maps), the grain directory, the footer and the
// end-of-stream marker (VMware "Virtual Disk Format 1.1", "Stream-Optimized Compressed Sparse Extents").

import {
  encodeMetadataMarker,
  encodeSparseHeader,
  GRAIN_SECTORS,
  GT_ENTRIES,
  GT_SECTORS,
  MarkerType,
  OVERHEAD_SECTORS,
  SECTOR,
} from './format.js';

/** Sector offsets are 32-bit in grain tables and the grain directory. */
const MAX_SECTOR = 2 ** 32 - 1;

/**
 * Tracks the output position (in sectors, from the start of the extent) and the grain
 * tables, and produces the metadata sectors in the order a non-seeking writer emits them:
 *
 *   header + descriptor | grain marker + deflated grain ... | GT marker + GT | ... |
 *   GD marker + GD | footer marker + footer | end-of-stream marker
 *
 * A grain table (512 entries = 32 MiB of guest data) is written once the grains it maps are
 * all written, so only one table is held in memory. A table that maps no grain is not written
 * and its directory entry is 0 (unallocated), as VMware itself does for streams.
 */
export class StreamLayout {
  /** Sector where the next write lands. */
  private next = OVERHEAD_SECTORS;
  /** Grain directory: sector of each grain table, 0 when the table was not written. */
  private readonly gd: Uint32Array;
  /** The grain table being filled: sector of each grain's marker, 0 for a zero grain. */
  private readonly gt = new Uint32Array(GT_ENTRIES);
  private gtIndex = 0;
  private gtUsed = 0;
  private finished = false;
  /** Number of grains placed. */
  grains = 0;

  /** @param capacitySectors virtual size in sectors. */
  constructor(private readonly capacitySectors: number) {
    const totalGrains = Math.ceil(capacitySectors / GRAIN_SECTORS);
    this.gd = new Uint32Array(Math.ceil(totalGrains / GT_ENTRIES));
  }

  /** Bytes of output so far, from the first byte of the header. */
  get bytes(): number {
    return this.next * SECTOR;
  }

  /**
   * Places a run of compressed grain records that are written back to back, all in the grain
   * table `Math.floor(grain / 512)` (batches never straddle a table). Returns the metadata to
   * write before the records: the finished previous grain table, if any.
   *
   * @param grains grain numbers (guest offset / 64 KiB), ascending, all in one grain table.
   * @param sectorOffsets where each grain's marker sits within the records, in sectors.
   * @param recordSectors size of the records, in sectors.
   */
  place(grains: ArrayLike<number>, sectorOffsets: ArrayLike<number>, recordSectors: number): Buffer | undefined {
    if (this.finished) throw new Error('StreamLayout: grains placed after finish()');
    if (grains.length === 0) return undefined;
    const table = Math.floor(grains[0]! / GT_ENTRIES);
    if (Math.floor(grains[grains.length - 1]! / GT_ENTRIES) !== table) throw new Error('StreamLayout: a batch straddles two grain tables');
    if (table < this.gtIndex) throw new Error(`StreamLayout: grain table ${table} after table ${this.gtIndex}`);
    const before = table !== this.gtIndex ? this.flushTable() : undefined;
    this.gtIndex = table;
    for (let i = 0; i < grains.length; i++) {
      const slot = grains[i]! % GT_ENTRIES;
      if (this.gt[slot] !== 0) throw new Error(`StreamLayout: grain ${grains[i]} placed twice`);
      this.gt[slot] = this.next + sectorOffsets[i]!;
      this.grains++;
    }
    this.gtUsed += grains.length;
    this.advance(recordSectors);
    return before;
  }

  /**
   * Ends the stream: the last grain table, the grain directory, the footer (the header again,
   * with gdOffset set, after a footer marker) and the end-of-stream marker, as one buffer.
   */
  finish(): Buffer {
    if (this.finished) throw new Error('StreamLayout: finish() called twice');
    const parts: Buffer[] = [];
    const lastTable = this.flushTable();
    if (lastTable) parts.push(lastTable);
    this.finished = true;

    const gdSectors = Math.max(1, Math.ceil((this.gd.length * 4) / SECTOR));
    parts.push(encodeMetadataMarker(MarkerType.GrainDirectory, gdSectors));
    this.advance(1);
    const gdOffset = this.advance(gdSectors);
    const gd = Buffer.alloc(gdSectors * SECTOR);
    for (let i = 0; i < this.gd.length; i++) gd.writeUInt32LE(this.gd[i]!, i * 4);
    parts.push(gd);

    parts.push(encodeMetadataMarker(MarkerType.Footer, 1));
    parts.push(encodeSparseHeader({ capacitySectors: BigInt(this.capacitySectors), gdOffset: BigInt(gdOffset) }));
    parts.push(Buffer.alloc(SECTOR)); // end-of-stream marker: val 0, size 0, type 0
    this.advance(3);
    return Buffer.concat(parts);
  }

  /** The marker and grain table being filled, when it maps any grain; resets the table. */
  private flushTable(): Buffer | undefined {
    if (this.gtUsed === 0) return undefined;
    const out = Buffer.alloc((1 + GT_SECTORS) * SECTOR);
    encodeMetadataMarker(MarkerType.GrainTable, GT_SECTORS).copy(out, 0);
    for (let i = 0; i < GT_ENTRIES; i++) out.writeUInt32LE(this.gt[i]!, SECTOR + i * 4);
    this.advance(1);
    this.gd[this.gtIndex] = this.advance(GT_SECTORS);
    this.gt.fill(0);
    this.gtUsed = 0;
    return out;
  }

  /** Moves the write position by `sectors`; returns the position before the move. */
  private advance(sectors: number): number {
    const at = this.next;
    if (at + sectors > MAX_SECTOR) throw new RangeError('stream-optimized VMDK would exceed 2 TiB: grain tables hold 32-bit sector offsets');
    this.next = at + sectors;
    return at;
  }
}
