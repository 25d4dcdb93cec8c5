// On-disk structures of a stream-optimized VMDK (VMware "Virtual Disk Format 1.1"): the hosted
// sparse extent header (also used as footer), metadata and grain markers, the embedded descriptor.
// All integers are little-endian; offsets and sizes in the header are in 512-byte sectors.

import { randomBytes } from 'node:crypto';
import type { VmdkAdapter } from '../../mapping/schema/export.js';

/** Sector size, in bytes. Every structure of the extent starts on a sector boundary. */
export const SECTOR = 512;
/** Grain size in sectors (128 = 64 KiB), as VMware writes stream-optimized extents. */
export const GRAIN_SECTORS = 128;
/** Grain size in bytes (64 KiB). */
export const GRAIN_BYTES = GRAIN_SECTORS * SECTOR;
/** Grain table entries per grain table (spec: numGTEsPerGT, always 512): one GT covers 32 MiB. */
export const GT_ENTRIES = 512;
/** Size of one grain table in sectors (512 entries of 4 bytes = 2 KiB). */
export const GT_SECTORS = (GT_ENTRIES * 4) / SECTOR;
/** Sector where the embedded descriptor starts (right after the header). */
export const DESCRIPTOR_OFFSET = 1;
/** Sector of the first grain (header + descriptor + zero padding = 64 KiB, as VMware lays it out). */
export const OVERHEAD_SECTORS = 128;
/** Room reserved for the descriptor, in sectors (descriptorSize; 20 as qemu and VMware's open-vmdk write). */
export const DESCRIPTOR_SECTORS = 20;
/** Size of a grain marker before the compressed bytes: LBA (u64) + compressed size (u32). */
export const GRAIN_MARKER_BYTES = 12;
/** Largest capacity the 32-bit sector offsets of a GT can address (2 TiB of output), in bytes. */
export const MAX_OUTPUT_BYTES = 2 ** 32 * SECTOR;

/** "KDMV" read as a little-endian u32: SparseExtentHeader.magicNumber. */
export const SPARSE_MAGIC = 0x564d444b;
/** Version 3: the version of stream-optimized (compressed, with markers) extents. */
export const VERSION = 3;
/** Header flag bit 0: the new-line detection characters are valid. */
export const FLAG_VALID_NEWLINE = 1 << 0;
/** Header flag bit 16: grains are compressed. */
export const FLAG_COMPRESSED = 1 << 16;
/** Header flag bit 17: grains and metadata are preceded by markers. */
export const FLAG_MARKERS = 1 << 17;
/** The flags VMware writes on stream-optimized extents (0x30001): no redundant grain directory. */
export const STREAM_FLAGS = FLAG_VALID_NEWLINE | FLAG_COMPRESSED | FLAG_MARKERS;
/** compressAlgorithm 1: RFC 1950 zlib streams (deflate). */
export const COMPRESSION_DEFLATE = 1;
/** gdOffset in the leading header of a stream: the grain directory is found through the footer. */
export const GD_AT_END = 0xffffffffffffffffn;

/** Metadata marker types (the u32 at byte 12 of a marker sector whose size field is 0). */
export const MarkerType = { EndOfStream: 0, GrainTable: 1, GrainDirectory: 2, Footer: 3 } as const;

/** Fields of a SparseExtentHeader this writer varies (the rest are constants above). */
export interface SparseHeaderFields {
  /** Virtual size, in sectors. */
  capacitySectors: bigint;
  /** Sector of the grain directory, or {@link GD_AT_END} in the leading header of a stream. */
  gdOffset: bigint;
}

/**
 * Encodes a SparseExtentHeader (spec: "Hosted Sparse Extent Header") into one 512-byte sector:
 * magic, version 3, flags 0x30001, capacity, grainSize 128, descriptor at sector 1, 512 GTEs per
 * GT, no redundant GD, gdOffset, overHead 128, the new-line detection bytes `\n`, ` `, `\r`, `\n`
 * and compressAlgorithm 1 (deflate). The same structure, with the real gdOffset, is the footer.
 */
export function encodeSparseHeader(fields: SparseHeaderFields): Buffer {
  const b = Buffer.alloc(SECTOR);
  b.writeUInt32LE(SPARSE_MAGIC, 0);
  b.writeUInt32LE(VERSION, 4);
  b.writeUInt32LE(STREAM_FLAGS, 8);
  b.writeBigUInt64LE(fields.capacitySectors, 12);
  b.writeBigUInt64LE(BigInt(GRAIN_SECTORS), 20);
  b.writeBigUInt64LE(BigInt(DESCRIPTOR_OFFSET), 28);
  b.writeBigUInt64LE(BigInt(DESCRIPTOR_SECTORS), 36);
  b.writeUInt32LE(GT_ENTRIES, 44);
  b.writeBigUInt64LE(0n, 48); // rgdOffset: stream-optimized extents have no redundant GD
  b.writeBigUInt64LE(fields.gdOffset, 56);
  b.writeBigUInt64LE(BigInt(OVERHEAD_SECTORS), 64);
  b.writeUInt8(0, 72); // uncleanShutdown
  b.write('\n \r\n', 73, 'latin1'); // singleEndLineChar, nonEndLineChar, doubleEndLineChar1/2
  b.writeUInt16LE(COMPRESSION_DEFLATE, 77);
  return b;
}

/**
 * A metadata marker sector (spec: "Stream-Optimized Compressed Sparse Extents", Marker):
 * `val` = number of sectors of metadata that follow, `size` = 0, `type` at byte 12.
 * The end-of-stream marker is the all-zero sector (val 0, type 0).
 */
export function encodeMetadataMarker(type: number, sectorsFollowing: number): Buffer {
  const b = Buffer.alloc(SECTOR);
  b.writeBigUInt64LE(BigInt(sectorsFollowing), 0);
  b.writeUInt32LE(0, 8);
  b.writeUInt32LE(type, 12);
  return b;
}

/** BIOS geometry (spec: "The Disk Database"), from the capacity in sectors and the adapter's heads and cylinder limit (export.json vmdkAdapters); 63 sectors per track. */
export function geometry(capacitySectors: number, adapter: VmdkAdapter): { cylinders: number; heads: number; sectors: number } {
  const { heads, maxCylinders } = adapter;
  const cylinders = Math.max(1, Math.min(maxCylinders, Math.ceil(capacitySectors / (heads * 63))));
  return { cylinders, heads, sectors: 63 };
}

/** What goes into the embedded descriptor besides the capacity. */
export interface DescriptorOptions {
  /** Name of the extent file in the `RW n SPARSE "name"` line (the file name inside the OVA). */
  fileName: string;
  /** ddb.adapterType and its geometry: the disk's bus rule in mappings/export.json (mapping/export-layout.ts vmdkAdapter). */
  adapter: VmdkAdapter;
  /** Content ID (CID), 32 bits; random when absent, never 0xffffffff/0xfffffffe (they mean "no parent"). */
  cid?: number;
}

/** A random CID that readers will not mistake for "no parent" (0xffffffff) or 0xfffffffe. */
function randomCid(): number {
  for (;;) {
    const cid = randomBytes(4).readUInt32LE(0);
    if (cid < 0xfffffffe) return cid;
  }
}

/**
 * The embedded descriptor text (spec: "The Descriptor File"): version 1, CID, parentCID ffffffff,
 * createType "streamOptimized", one `RW <capacity sectors> SPARSE` extent and the disk database
 * (adapter type, geometry, longContentID, virtualHWVersion "4" as VMware's own tools write).
 * @throws RangeError when it does not fit in {@link DESCRIPTOR_SECTORS} or the name holds `"` or a line break.
 */
export function encodeDescriptor(capacitySectors: number, opts: DescriptorOptions): Buffer {
  if (/["\r\n\0]/.test(opts.adapter.type)) throw new RangeError(`VMDK adapter type must not contain quotes or line breaks: ${JSON.stringify(opts.adapter.type)}`);
  if (/["\r\n\0]/.test(opts.fileName)) throw new RangeError(`VMDK extent file name must not contain quotes or line breaks: ${JSON.stringify(opts.fileName)}`);
  const cid = (opts.cid ?? randomCid()).toString(16).padStart(8, '0');
  const geo = geometry(capacitySectors, opts.adapter);
  const text = [
    '# Disk DescriptorFile',
    'version=1',
    'encoding="UTF-8"',
    `CID=${cid}`,
    'parentCID=ffffffff',
    'createType="streamOptimized"',
    '',
    '# Extent description',
    `RW ${capacitySectors} SPARSE "${opts.fileName}"`,
    '',
    '# The Disk Data Base',
    '#DDB',
    '',
    `ddb.adapterType = "${opts.adapter.type}"`,
    `ddb.geometry.cylinders = "${geo.cylinders}"`,
    `ddb.geometry.heads = "${geo.heads}"`,
    `ddb.geometry.sectors = "${geo.sectors}"`,
    `ddb.longContentID = "${randomBytes(12).toString('hex')}${cid}"`,
    'ddb.virtualHWVersion = "4"',
    '',
  ].join('\n');
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > DESCRIPTOR_SECTORS * SECTOR) throw new RangeError(`VMDK descriptor of ${bytes.length} bytes does not fit in ${DESCRIPTOR_SECTORS} sectors`);
  return bytes;
}

/**
 * The first {@link OVERHEAD_SECTORS} sectors of the stream: the header (gdOffset = GD_AT_END),
 * the descriptor from sector 1, zeros up to the first grain at sector 128.
 */
export function encodeLeadIn(capacitySectors: number, descriptor: DescriptorOptions): Buffer {
  const b = Buffer.alloc(OVERHEAD_SECTORS * SECTOR);
  encodeSparseHeader({ capacitySectors: BigInt(capacitySectors), gdOffset: GD_AT_END }).copy(b, 0);
  encodeDescriptor(capacitySectors, descriptor).copy(b, DESCRIPTOR_OFFSET * SECTOR);
  return b;
}
