// Bounds check of a hosted sparse VMDK's grain directory and grain tables (VMware "Virtual Disk
// Format 1.1": monolithicSparse and streamOptimized) before qemu-img reads them: qemu reads a
// table or grain beyond the end of the file as zeros and converts such an image "successfully".
import { sectors, TableReader, type ImageBytes } from './image-tables.js';

const SECTOR = 512;
/** SparseExtentHeader flags: redundant grain directory in use, zeroed-grain GTEs, markers. */
const FLAG_RGD = 1 << 1;
export const FLAG_ZERO_GRAIN = 1 << 2;
export const FLAG_MARKERS = 1 << 17;
/** gdOffset of a stream's leading header: the real header is the footer at the end. */
export const GD_AT_END = 0xffffffffffffffffn;
/** Metadata marker types (the u32 at byte 12 of a marker whose size field is 0). */
export const MARKER = { endOfStream: 0, grainTable: 1, grainDirectory: 2, footer: 3 } as const;
/** qemu's limits (block/vmdk.c): numGTEsPerGT, grainSize in sectors, grain directory entries. */
export const MAX_GTES_PER_GT = 512;
export const MAX_GRAIN_SECTORS = 0x200000;
export const MAX_GD_ENTRIES = 32 * 2 ** 20;
/** A grain marker: LBA (u64) and compressed size (u32) before the deflated bytes. */
export const GRAIN_MARKER_BYTES = 12;
/** A compressed grain may claim at most this many times the grain size (qemu reads 2 × grainSize from the marker). */
export const MAX_COMPRESSED_GRAIN_FACTOR = 2;

/** The SparseExtentHeader fields the tables depend on; offsets and sizes in sectors. */
export interface SparseHeader {
  readonly version: number;
  readonly flags: number;
  readonly capacity: number;
  readonly grainSectors: number;
  readonly gtes: number;
  readonly rgdOffset: number;
  readonly gdOffset: number;
  readonly gdAtEnd: boolean;
  /** compressAlgorithm 1 (deflate): qemu reads every grain as compressed. */
  readonly compressed: boolean;
}

/** Parses the 512-byte SparseExtentHeader at `b` (little-endian, after the magic `KDMV`). */
export function parseHeader(b: Buffer): SparseHeader {
  return {
    version: b.readUInt32LE(4),
    flags: b.readUInt32LE(8),
    capacity: Number(b.readBigUInt64LE(12)),
    grainSectors: Number(b.readBigUInt64LE(20)),
    gtes: b.readUInt32LE(44),
    rgdOffset: Number(b.readBigUInt64LE(48)),
    gdOffset: Number(b.readBigUInt64LE(56)),
    gdAtEnd: b.readBigUInt64LE(56) === GD_AT_END,
    compressed: b.readUInt16LE(77) === 1,
  };
}

/**
 * Checks that the grain directory, every grain table it names and every grain those tables name
 * lie inside the image, as qemu's block/vmdk.c would read them:
 * - a stream whose leading header has gdOffset GD_AT_END is read through its footer (footer
 *   marker, a header whose capacity equals the leading one, end-of-stream marker, in the last
 *   three sectors) and, with markers, a grain directory marker must precede the directory;
 * - numGTEsPerGT 1-512, grainSize 1-0x200000 sectors, at most 32 Mi directory entries (qemu's limits);
 * - the grain directory (and the redundant one, flag bit 1) inside the image, each non-zero entry
 *   naming a grain table of numGTEsPerGT × 4 bytes inside the image;
 * - each grain table entry (up to the capacity; 0 unallocated, 1 zeroed with flag bit 2) naming
 *   a grain inside the image: uncompressed, its sectors up to the capacity; compressed with
 *   markers, the 12-byte marker and its 1 to 2 × grainSize compressed bytes; compressed without
 *   markers, its first byte.
 * `head` is the image's first sector (already checked to be a VMDK4 sparse header by checkVmdk).
 * @throws PackageError naming the table, the entry and the offset that lies outside.
 */
export async function checkVmdkTables(img: ImageBytes, head: Buffer): Promise<void> {
  const reader = new TableReader(img);
  const lead = parseHeader(head);
  const h = lead.gdAtEnd ? await footerHeader(img, lead) : lead;
  if (h.gtes < 1 || h.gtes > MAX_GTES_PER_GT) throw img.refuse(`has a VMDK numGTEsPerGT of ${h.gtes} (qemu reads 1 to ${MAX_GTES_PER_GT})`);
  if (h.grainSectors < 1 || h.grainSectors > MAX_GRAIN_SECTORS) throw img.refuse(`has a VMDK grainSize of ${h.grainSectors} sectors (qemu reads 1 to ${MAX_GRAIN_SECTORS})`);
  const gdEntries = Math.ceil(h.capacity / (h.gtes * h.grainSectors));
  if (gdEntries > MAX_GD_ENTRIES) throw img.refuse(`has a VMDK grain directory of ${gdEntries} entries, above qemu's limit of ${MAX_GD_ENTRIES}`);
  const gtBytes = h.gtes * 4;
  const gdWhere = `grain directory (sector ${h.gdOffset}, ${gdEntries} entries)`;
  if (!reader.inside(h.gdOffset * SECTOR, gdEntries * 4)) throw img.refuse(`its ${gdWhere} runs past the end of the image (${sectors(img.size)})`);
  if (lead.gdAtEnd && h.flags & FLAG_MARKERS) await checkMarker(img, h.gdOffset - 1, MARKER.grainDirectory, `the sector before its ${gdWhere}`);
  const tableAt = (name: string, e: number): void => {
    if (e * SECTOR >= img.size) throw img.refuse(`${name} points to sector ${e}, beyond the end of the image (${sectors(img.size)})`);
    if (!reader.inside(e * SECTOR, gtBytes)) throw img.refuse(`${name} points to a grain table (sector ${e}, ${gtBytes} bytes) that runs past the end of the image (${sectors(img.size)})`);
  };
  if (h.flags & FLAG_RGD) {
    if (!reader.inside(h.rgdOffset * SECTOR, gdEntries * 4)) throw img.refuse(`its redundant grain directory (sector ${h.rgdOffset}, ${gdEntries} entries) runs past the end of the image (${sectors(img.size)})`);
    for await (const { first, buf } of reader.chunks(h.rgdOffset * SECTOR, gdEntries, 4, 'redundant grain directory')) {
      for (let k = 0; k < buf.length / 4; k++) {
        const e = buf.readUInt32LE(k * 4);
        if (e !== 0) tableAt(`redundant grain directory entry ${first + k}`, e);
      }
    }
  }
  for await (const { first, buf } of reader.chunks(h.gdOffset * SECTOR, gdEntries, 4, 'grain directory')) {
    for (let k = 0; k < buf.length / 4; k++) {
      const e = buf.readUInt32LE(k * 4);
      if (e === 0) continue;
      tableAt(`grain directory entry ${first + k}`, e);
      await checkGrainTable(reader, h, first + k, await reader.table(e * SECTOR, gtBytes, 'grain tables'));
    }
  }
}

/**
 * The footer of a stream whose leading header says GD_AT_END, as qemu reads it: the last three
 * sectors are a footer marker (size 0, type 3), a SparseExtentHeader (`KDMV`) and the
 * end-of-stream marker (all zero). Its capacity must equal the leading header's (qemu uses the
 * footer's, so a different one would escape the virtual-size check), its gdOffset must be real.
 */
async function footerHeader(img: ImageBytes, lead: SparseHeader): Promise<SparseHeader> {
  const end = Math.ceil(img.size / SECTOR) * SECTOR;
  const what = 'is a stream VMDK whose header puts the grain directory at the end (gdOffset GD_AT_END)';
  if (end < 4 * SECTOR) throw img.refuse(`${what} but is too short to hold a footer`);
  const at = end - 3 * SECTOR;
  const buf = await img.read(at, 3 * SECTOR);
  if (buf.length < 3 * SECTOR) throw img.refuse(`${what} but is too short to hold a footer`);
  const [markerSize, markerType] = [buf.readUInt32LE(8), buf.readUInt32LE(12)];
  if (markerSize !== 0 || markerType !== MARKER.footer) throw img.refuse(`${what} but sector ${at / SECTOR} is not a footer marker (size ${markerSize}, type ${markerType})`);
  if (buf.toString('latin1', SECTOR, SECTOR + 4) !== 'KDMV') throw img.refuse(`${what} but its footer (sector ${at / SECTOR + 1}) is not a sparse extent header (no KDMV)`);
  const eos = buf.subarray(2 * SECTOR, 2 * SECTOR + 16);
  if (eos.readBigUInt64LE(0) !== 0n || eos.readUInt32LE(8) !== 0 || eos.readUInt32LE(12) !== MARKER.endOfStream) throw img.refuse(`${what} but its last sector is not an end-of-stream marker`);
  const footer = parseHeader(buf.subarray(SECTOR, 2 * SECTOR));
  if (footer.version < 1 || footer.version > 3) throw img.refuse(`has a VMDK footer of version ${footer.version}`);
  if (footer.capacity !== lead.capacity) throw img.refuse(`has a VMDK footer whose capacity (${footer.capacity} sectors) differs from its header's (${lead.capacity} sectors)`);
  if (footer.gdAtEnd) throw img.refuse('has a VMDK footer whose gdOffset is GD_AT_END too');
  return footer;
}

/** Refuses unless the sector `at` holds a metadata marker (size 0) of `type`. */
async function checkMarker(img: ImageBytes, at: number, type: number, where: string): Promise<void> {
  const m = at >= 0 ? await img.read(at * SECTOR, 16) : Buffer.alloc(0);
  if (m.length < 16 || m.readUInt32LE(8) !== 0 || m.readUInt32LE(12) !== type) {
    throw img.refuse(`has no grain directory marker in ${where} (sector ${at}): not a well-formed stream`);
  }
}

/** Checks the entries of grain table `index` (its bytes `gt`) that map grains below the capacity. */
async function checkGrainTable(reader: TableReader, h: SparseHeader, index: number, gt: Buffer): Promise<void> {
  const img = reader.image;
  const end = sectors(img.size);
  const grainBytes = h.grainSectors * SECTOR;
  const entries = Math.min(h.gtes, Math.ceil(h.capacity / h.grainSectors) - index * h.gtes);
  const markers: { entry: number; sector: number }[] = [];
  for (let j = 0; j < entries; j++) {
    const v = gt.readUInt32LE(j * 4);
    if (v === 0 || (v === 1 && h.flags & FLAG_ZERO_GRAIN)) continue;
    const name = `grain table ${index} entry ${j}`;
    if (v * SECTOR >= img.size) throw img.refuse(`${name} points to sector ${v}, beyond the end of the image (${end})`);
    if (h.compressed && h.flags & FLAG_MARKERS) markers.push({ entry: j, sector: v });
    else if (!h.compressed) {
      const lba = (index * h.gtes + j) * h.grainSectors;
      const need = Math.min(h.grainSectors, h.capacity - lba) * SECTOR;
      if (!reader.inside(v * SECTOR, need)) throw img.refuse(`${name} points to a grain (sector ${v}, ${need / SECTOR} sectors) that runs past the end of the image (${end})`);
    }
  }
  const bufs = await reader.many(markers.map((m) => m.sector * SECTOR), GRAIN_MARKER_BYTES, 'grain markers');
  for (const [i, { entry, sector }] of markers.entries()) {
    const name = `grain table ${index} entry ${entry}`;
    const marker = bufs[i]!;
    if (marker.length < GRAIN_MARKER_BYTES) throw img.refuse(`${name} points to a grain marker (sector ${sector}) that runs past the end of the image (${end})`);
    const size = marker.readUInt32LE(8);
    if (size === 0) throw img.refuse(`${name} points to sector ${sector}, which holds no compressed grain (its marker's size is 0)`);
    if (size > MAX_COMPRESSED_GRAIN_FACTOR * grainBytes) throw img.refuse(`${name} points to a grain marker (sector ${sector}) claiming ${size} compressed bytes, more than twice the grain size (${grainBytes} bytes)`);
    if (!reader.inside(sector * SECTOR, GRAIN_MARKER_BYTES + size)) {
      throw img.refuse(`${name} points to a compressed grain (sector ${sector}, ${GRAIN_MARKER_BYTES + size} bytes with its marker) that runs past the end of the image (${end})`);
    }
  }
}
