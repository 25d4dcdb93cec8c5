// The marker walk of a streamOptimized VMDK (VMware "Virtual Disk Format 5.0", "Stream-Optimized
// Compressed Sparse Extents"): after the lead-in, sector-aligned grain markers {LBA u64, size u32,
// deflate data} and metadata markers {sectors u64, 0 u32, type u32} (end of stream, grain table,
// grain directory, footer), read front to back without seeking.

import type { PackageError } from '../../errors.js';
import { GRAIN_MARKER_BYTES, MARKER, MAX_COMPRESSED_GRAIN_FACTOR } from '../image-tables-vmdk.js';
import { footerMismatch, SECTOR, type StreamHeader } from './header.js';
import type { StreamReader } from './reader.js';
import type { GrainTables } from './tables.js';

/** Grain directory bytes checked per read. */
const GD_CHUNK_BYTES = 2 ** 20;

/** A grain marker: its grain number (LBA / grainSize), stream sector and compressed size in bytes. */
export interface GrainMarker {
  readonly index: number;
  readonly sector: number;
  readonly size: number;
}

/**
 * Walks the stream from byte 0 (the lead-in must have been peeked and checked): the lead-in
 * (reading the tables there when they come first), then every marker up to the end-of-stream
 * marker, then zero padding. `onGrain` is called for each grain marker after it was checked
 * (LBA aligned and inside the capacity, size sane, tables agree) and must consume exactly
 * `size` bytes from `reader` (the compressed data).
 * @throws PackageError naming the byte offset of what is wrong; NotStreamableError (tables.ts).
 */
export async function walkStream(reader: StreamReader, h: StreamHeader, tables: GrainTables, refuse: (why: string) => PackageError, sequential: boolean, onGrain: (g: GrainMarker) => Promise<void>): Promise<void> {
  await readLeadInTables(reader, h, tables, refuse);
  const maxCompressed = MAX_COMPRESSED_GRAIN_FACTOR * h.grainBytes;
  let footerSeen = false;
  for (;;) {
    if (!h.gdAtEnd && (await reader.atEnd())) break; // qemu writes no end-of-stream marker
    const at = reader.offset;
    const sector = at / SECTOR;
    const m = await reader.take(GRAIN_MARKER_BYTES, `the marker at byte ${at}`);
    const size = m.readUInt32LE(8);
    if (size !== 0) {
      // The LBA as a number: exact below 2^53, and anything at or above 2^32 × 2^21 is beyond any capacity anyway.
      const high = m.readUInt32LE(4);
      const lba = high < 2 ** 21 ? high * 2 ** 32 + m.readUInt32LE(0) : Infinity;
      const lbaText = () => m.readBigUInt64LE(0).toString();
      if (footerSeen) throw refuse(`has a grain marker at byte ${at} after its footer`);
      if (lba >= h.capacitySectors) throw refuse(`has a grain marker at byte ${at} whose LBA ${lbaText()} lies beyond the capacity (${h.capacitySectors} sectors)`);
      if (lba % h.grainSectors !== 0) throw refuse(`has a grain marker at byte ${at} whose LBA ${lbaText()} is not a multiple of the grain size (${h.grainSectors} sectors)`);
      if (size > maxCompressed) throw refuse(`has a grain marker at byte ${at} claiming ${size} compressed bytes, more than ${MAX_COMPRESSED_GRAIN_FACTOR} × the grain size (${h.grainBytes} bytes)`);
      const index = lba / h.grainSectors;
      tables.grain(index, sector, sequential);
      await onGrain({ index, sector, size });
      await reader.skip(pad(GRAIN_MARKER_BYTES + size), `the padding of the grain at byte ${at}`);
      continue;
    }
    const val = m.readBigUInt64LE(0);
    const type = (await reader.take(4, `the marker at byte ${at}`)).readUInt32LE(0);
    await reader.skip(SECTOR - 16, `the marker at byte ${at}`);
    if (type === MARKER.endOfStream) {
      if (val !== 0n) throw refuse(`has an end-of-stream marker at byte ${at} claiming ${val} sectors after it`);
      if (h.gdAtEnd && !footerSeen) throw refuse(`ends (end-of-stream marker at byte ${at}) without the footer its header promises (gdOffset GD_AT_END)`);
      break;
    }
    if (type > MARKER.footer) throw refuse(`has a metadata marker of unknown type ${type} at byte ${at}`);
    if (val > BigInt(2 ** 40)) throw refuse(`has a metadata marker at byte ${at} claiming ${val} sectors`);
    const bytes = Number(val) * SECTOR;
    const what = `the metadata after the marker at byte ${at}`;
    if (!h.gdAtEnd) {
      await reader.skip(bytes, what); // qemu reads the tables of the lead-in only
      continue;
    }
    if (footerSeen) throw refuse(`has a metadata marker (type ${type}) at byte ${at} after its footer; only the end-of-stream marker may follow it`);
    if (type === MARKER.grainTable) {
      if (bytes < h.gtes * 4) throw refuse(`has a grain table marker at byte ${at} for ${val} sectors, too few for ${h.gtes} entries`);
      tables.table(sector + 1, await reader.read(h.gtes * 4, what));
      await reader.skip(bytes - h.gtes * 4, what);
    } else if (type === MARKER.grainDirectory) {
      if (bytes < h.gdEntries * 4) throw refuse(`has a grain directory marker at byte ${at} for ${val} sectors, too few for ${h.gdEntries} entries`);
      tables.directoryStart(sector + 1);
      for (let done = 0; done < h.gdEntries * 4; done += GD_CHUNK_BYTES) {
        const n = Math.min(GD_CHUNK_BYTES, h.gdEntries * 4 - done);
        tables.directoryEntries(done / 4, await reader.read(n, what));
      }
      await reader.skip(bytes - h.gdEntries * 4, what);
    } else {
      if (val !== 1n) throw refuse(`has a footer marker at byte ${at} claiming ${val} sectors, not 1`);
      const footer = await reader.read(SECTOR, `the footer after the marker at byte ${at}`);
      const wrong = footerMismatch(footer, h);
      if (wrong) throw refuse(`its footer (byte ${at + SECTOR}) ${wrong}`);
      tables.footer(Number(footer.readBigUInt64LE(56)));
      footerSeen = true;
    }
  }
  await reader.zeroTail('end-of-stream marker');
  tables.finish();
}

/** Zero bytes that pad `n` bytes to a sector. */
function pad(n: number): number {
  return (SECTOR - (n % SECTOR)) % SECTOR;
}

/**
 * Consumes the lead-in (header, descriptor, up to the first grain at overHead). When the grain
 * directory lies there (qemu's layout), reads it and the grain tables it names, which must come
 * after it, in ascending order, without overlapping, inside the lead-in.
 */
async function readLeadInTables(reader: StreamReader, h: StreamHeader, tables: GrainTables, refuse: (why: string) => PackageError): Promise<void> {
  const end = h.overheadSectors * SECTOR;
  if (h.gdAtEnd) return reader.skip(end, 'the lead-in (header and descriptor)');
  await reader.skip(h.gdOffset * SECTOR, 'the lead-in');
  const gd = new Uint32Array(h.gdEntries);
  for (let done = 0; done < h.gdEntries * 4; done += GD_CHUNK_BYTES) {
    const n = Math.min(GD_CHUNK_BYTES, h.gdEntries * 4 - done);
    const buf = await reader.read(n, 'the grain directory');
    for (let k = 0; k < n / 4; k++) gd[done / 4 + k] = buf.readUInt32LE(k * 4);
  }
  const spans = [...gd.keys()].filter((k) => gd[k] !== 0).sort((a, b) => gd[a]! - gd[b]!);
  const tableBytes = h.gtes * 4;
  for (const span of spans) {
    const at = gd[span]! * SECTOR;
    if (at < reader.offset) throw refuse(`grain directory entry ${span} names sector ${gd[span]}, ${at < h.gdOffset * SECTOR + h.gdEntries * 4 ? 'before the end of the grain directory' : 'inside another grain table'}`);
    if (at + tableBytes > end) throw refuse(`grain directory entry ${span} names a grain table at sector ${gd[span]}, beyond the first grain (sector ${h.overheadSectors}), where a stream cannot read it in time`);
    await reader.skip(at - reader.offset, 'the lead-in');
    tables.expectTable(span, await reader.read(tableBytes, `grain table ${span}`));
  }
  await reader.skip(end - reader.offset, 'the lead-in');
}
