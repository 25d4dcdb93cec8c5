// Checks that a stream's grain tables and grain directory name exactly the grains its markers
// carry. qemu reads a streamOptimized VMDK through its tables and never looks at a marker's LBA;
// the decoder places grains by their markers. The two agree byte for byte only when every table
// entry names the marker of its own grain and every grain is named, which is checked here.

import type { PackageError } from '../../errors.js';
import { FLAG_ZERO_GRAIN } from '../image-tables-vmdk.js';
import type { StreamHeader } from './header.js';
import { NotStreamableError } from './not-streamable.js';

/** Grain tables whose grains were seen but whose table was not yet (VMware writes one behind its grains). */
const MAX_PENDING_TABLES = 4096;
/** Grain table entries are 32-bit sector numbers. */
const MAX_SECTOR = 2 ** 32 - 1;

/** Grains of one table's span seen so far: the sector of each grain's marker, 0 for none. */
interface Span {
  readonly sectors: Uint32Array;
  count: number;
}

/**
 * The table bookkeeping of one stream. Two layouts:
 * - tables first (qemu writes them; gdOffset inside the lead-in): {@link expectTable} records
 *   each table's entries before the grains come, and every grain must be the one its entry names;
 * - tables after their grains (VMware, virt-ovf's writer; gdOffset GD_AT_END): grains are
 *   recorded per span, each grain table must name exactly the grains of one span, the grain
 *   directory must name those tables, and the footer must name that directory.
 * Memory: one entry per grain of a span whose table is still to come (or to be matched).
 */
export class GrainTables {
  private readonly spans = new Map<number, Span>();
  /** Tables-after layout: span of each grain table seen, by its data sector (-1: names no grain). */
  private readonly tableSpans = new Map<number, number>();
  /** Tables-after layout: data sector of the grain table of each span. */
  private readonly spanTables = new Map<number, number>();
  private directorySector = -1;
  private lastIndex = -1;

  constructor(
    private readonly h: StreamHeader,
    private readonly refuse: (why: string) => PackageError,
    private readonly label: string,
  ) {}

  /** Value of a table entry as qemu reads it: 1 with the zeroed-grain flag reads as zeros. */
  private entry(v: number): number {
    return v === 1 && this.h.flags & FLAG_ZERO_GRAIN ? 0 : v;
  }

  /** Entries of table `span` that map grains inside the capacity. */
  private used(span: number): number {
    return Math.min(this.h.gtes, this.h.totalGrains - span * this.h.gtes);
  }

  /** Tables-first layout: the entries of grain table `span` (from the lead-in). */
  expectTable(span: number, table: Buffer): void {
    const n = this.used(span);
    let rec: Span | undefined;
    for (let j = 0; j < n; j++) {
      const v = this.entry(table.readUInt32LE(j * 4));
      if (v === 0) continue;
      rec ??= { sectors: new Uint32Array(this.h.gtes), count: 0 };
      rec.sectors[j] = v;
      rec.count++;
    }
    if (rec) this.spans.set(span, rec);
  }

  /**
   * A grain marker for grain `index` at stream sector `sector`, before its data is used.
   * @param sequential the target needs ascending guest order.
   * @throws PackageError when no table names it, another grain had its LBA, or it comes too late;
   *   NotStreamableError when it goes backwards on a sequential target.
   */
  grain(index: number, sector: number, sequential: boolean): void {
    const lba = index * this.h.grainSectors;
    const where = `the grain at byte ${sector * 512} (LBA ${lba})`;
    if (index <= this.lastIndex && sequential) {
      throw new NotStreamableError(`${this.label}: ${where} comes after the grain of LBA ${this.lastIndex * this.h.grainSectors}; the target is written in order (a stream), so the grains must ascend`, { file: this.label });
    }
    this.lastIndex = Math.max(this.lastIndex, index);
    const span = Math.floor(index / this.h.gtes);
    const j = index % this.h.gtes;
    if (!this.h.gdAtEnd) {
      const rec = this.spans.get(span);
      const want = rec?.sectors[j] ?? 0;
      if (want !== sector) throw this.refuse(want === 0 ? `${where} is not named by its grain table (qemu reads zeros there; a second grain for one LBA?)` : `${where} is not the one its grain table names (sector ${want})`);
      rec!.sectors[j] = 0;
      if (--rec!.count === 0) this.spans.delete(span);
      return;
    }
    if (this.directorySector >= 0) throw this.refuse(`${where} comes after the grain directory, which cannot name it`);
    if (this.spanTables.has(span)) throw this.refuse(`${where} comes after the grain table of its span (sector ${this.spanTables.get(span)}), which cannot name it`);
    if (sector > MAX_SECTOR) throw this.refuse(`${where} lies beyond the 2 TiB a grain table can address`);
    let rec = this.spans.get(span);
    if (!rec) {
      if (this.spans.size >= MAX_PENDING_TABLES) throw new NotStreamableError(`${this.label}: grains of ${MAX_PENDING_TABLES} grain tables came without their tables; the streaming decoder does not hold more`, { file: this.label });
      rec = { sectors: new Uint32Array(this.h.gtes), count: 0 };
      this.spans.set(span, rec);
    }
    if (rec.sectors[j] !== 0) throw this.refuse(`${where} is the second grain for that LBA (the first is at byte ${rec.sectors[j]! * 512})`);
    rec.sectors[j] = sector;
    rec.count++;
  }

  /** Tables-after layout: a grain table whose entries start at stream sector `sector`. */
  table(sector: number, table: Buffer): void {
    const what = `the grain table at byte ${sector * 512}`;
    let span = -1;
    for (let j = 0; j < this.h.gtes && span < 0; j++) {
      const v = this.entry(table.readUInt32LE(j * 4));
      if (v === 0) continue;
      for (const [s, rec] of this.spans) if (rec.sectors[j] === v) span = s;
      if (span < 0) throw this.refuse(`${what}: entry ${j} names sector ${v}, where no grain of its span was seen before it`);
    }
    this.tableSpans.set(sector, span);
    if (span < 0) return;
    const rec = this.spans.get(span)!;
    for (let j = 0; j < this.used(span); j++) {
      const v = this.entry(table.readUInt32LE(j * 4));
      if (v !== rec.sectors[j]) {
        const lba = (span * this.h.gtes + j) * this.h.grainSectors;
        throw this.refuse(`${what}: entry ${j} (LBA ${lba}) names ${v === 0 ? 'no grain' : `sector ${v}`} but the stream ${rec.sectors[j] === 0 ? 'has no grain there' : `has that grain at sector ${rec.sectors[j]}`}`);
      }
    }
    this.spans.delete(span);
    this.spanTables.set(span, sector);
  }

  /** Tables-after layout: the grain directory starts at stream sector `sector`; every grain must have had its table. */
  directoryStart(sector: number): void {
    if (this.directorySector >= 0) throw this.refuse(`has a second grain directory (byte ${sector * 512})`);
    this.directorySector = sector;
    for (const [span, rec] of this.spans) {
      const j = rec.sectors.findIndex((v) => v !== 0);
      throw this.refuse(`the grain at byte ${rec.sectors[j]! * 512} (LBA ${(span * this.h.gtes + j) * this.h.grainSectors}) is named by no grain table before the grain directory`);
    }
  }

  /** Tables-after layout: grain directory entries from entry `first` on. */
  directoryEntries(first: number, entries: Buffer): void {
    for (let k = 0; k < entries.length / 4 && first + k < this.h.gdEntries; k++) {
      const v = entries.readUInt32LE(k * 4);
      const want = this.spanTables.get(first + k);
      if (want !== undefined ? v !== want : v !== 0 && this.tableSpans.get(v) !== -1) {
        throw this.refuse(`grain directory entry ${first + k} names ${v === 0 ? 'no table' : `sector ${v}`}, not ${want !== undefined ? `the grain table of its grains (sector ${want})` : 'an empty grain table'}`);
      }
    }
  }

  /** Tables-after layout: the footer's gdOffset must name the directory seen. */
  footer(gdOffset: number): void {
    if (gdOffset !== this.directorySector) throw this.refuse(`its footer names the grain directory at sector ${gdOffset}, not the one in the stream (sector ${this.directorySector})`);
  }

  /** At the end of the stream: every table entry had its grain (tables first). */
  finish(): void {
    for (const [span, rec] of this.spans) {
      const j = rec.sectors.findIndex((v) => v !== 0);
      throw this.refuse(`grain table ${span} entry ${j} names sector ${rec.sectors[j]}, where the stream has no grain marker for LBA ${(span * this.h.gtes + j) * this.h.grainSectors}`);
    }
  }
}
