// The lead-in of a streamOptimized VMDK read from a stream: the sparse extent header and the
// embedded descriptor (VMware "Virtual Disk Format 5.0", Hosted Sparse Extent Header and
// "Stream-Optimized Compressed Sparse Extents"), checked before any grain is read.

import { PackageError } from '../../errors.js';
import { checkVmdkLeadIn } from '../image-check.js';
import { FLAG_MARKERS, MAX_GD_ENTRIES, MAX_GRAIN_SECTORS, MAX_GTES_PER_GT, parseHeader } from '../image-tables-vmdk.js';
import { virtualSizeProblem } from '../size-policy.js';
import { NotStreamableError } from './not-streamable.js';
import type { StreamReader } from './reader.js';

export const SECTOR = 512;
/** Header flag bit 16: grains are compressed (stream-optimized extents set it with compressAlgorithm 1). */
const FLAG_COMPRESSED = 1 << 16;
/** compressAlgorithm 1: deflate (RFC 1950 zlib streams). */
const COMPRESSION_DEFLATE = 1;
/** Sectors qemu's vmdk_parent_open searches for a parentFileNameHint (from sector 1), checked with the descriptor. */
const PARENT_WINDOW_SECTORS = 21;
/** Largest lead-in (header + descriptor) read before the grains, in sectors (2 MiB). */
const MAX_DESCRIPTOR_END_SECTORS = 4096;
/** Largest grain the decoder buffers, in bytes (VMware writes 64 KiB; qemu reads up to 1 GiB). */
export const MAX_STREAM_GRAIN_BYTES = 2 ** 20;
/** Largest grain directory held in memory when it precedes the grains (qemu's layout), in entries (4 MiB; 32 TiB of 64 KiB grains). */
export const MAX_HELD_GD_ENTRIES = 2 ** 20;

/** What the decoder needs from the header; sizes in sectors unless named *Bytes. */
export interface StreamHeader {
  readonly flags: number;
  readonly capacitySectors: number;
  readonly capacityBytes: number;
  readonly grainSectors: number;
  readonly grainBytes: number;
  /** numGTEsPerGT: grains per grain table. */
  readonly gtes: number;
  /** Grains covering the capacity (the last one may be partial). */
  readonly totalGrains: number;
  /** Grain directory entries qemu reads: ceil(capacity / (gtes × grainSize)). */
  readonly gdEntries: number;
  /** Sector of the first grain (overHead). */
  readonly overheadSectors: number;
  /** First sector after the embedded descriptor. */
  readonly descriptorEnd: number;
  /** The grain directory comes after the grains, found through the footer (VMware's layout). */
  readonly gdAtEnd: boolean;
  /** Sector of the grain directory when it precedes the grains (qemu's layout). */
  readonly gdOffset: number;
}

/**
 * True when the first 512 bytes of an image are a sparse VMDK extent header (`KDMV`) with
 * compressed grains and markers (flags bits 16 and 17, compressAlgorithm 1): a streamOptimized
 * extent this decoder reads. False for anything else (a monolithicSparse VMDK, another format).
 */
export function isStreamOptimized(header: Uint8Array): boolean {
  if (header.length < SECTOR) return false;
  const b = Buffer.from(header.buffer, header.byteOffset, SECTOR);
  if (b.toString('latin1', 0, 4) !== 'KDMV') return false;
  const flags = b.readUInt32LE(8);
  return (flags & FLAG_COMPRESSED) !== 0 && (flags & FLAG_MARKERS) !== 0 && b.readUInt16LE(77) === COMPRESSION_DEFLATE;
}

/**
 * Peeks at the lead-in (nothing is consumed) and checks it: the header and descriptor checks
 * import applies to any sparse VMDK (image-check.ts), the virtual-size policy (size-policy.ts,
 * against `declaredCapacityBytes` when given), qemu's table limits, and where the tables sit.
 * @throws PackageError naming `reader.label`; NotStreamableError for a layout only a seeking reader can follow.
 */
export async function readLeadIn(reader: StreamReader, declaredCapacityBytes?: number): Promise<StreamHeader> {
  const label = reader.label;
  const refuse = (why: string) => new PackageError(`${label}: ${why}`, { file: label });
  const head = await reader.peek(SECTOR);
  if (head.length < SECTOR) throw reader.truncated('the VMDK header', SECTOR - head.length);
  if (!isStreamOptimized(head)) throw refuse(`is not a streamOptimized VMDK (no KDMV header with compressed grains and markers; it begins ${head.subarray(0, 8).toString('hex')})`);
  const descOffset = Number(head.readBigUInt64LE(28));
  const descriptorEnd = descOffset + Number(head.readBigUInt64LE(36));
  if (!(descriptorEnd <= MAX_DESCRIPTOR_END_SECTORS)) throw refuse(`has an embedded descriptor ending at sector ${descriptorEnd}, beyond the ${MAX_DESCRIPTOR_END_SECTORS} sectors a stream's lead-in may take`);
  const leadIn = await reader.peek(Math.max(PARENT_WINDOW_SECTORS, descriptorEnd) * SECTOR);
  const capacityBytes = await checkVmdkLeadIn(leadIn, refuse);
  const problem = virtualSizeProblem(capacityBytes, declaredCapacityBytes);
  if (problem) throw refuse(problem);
  const h = parseHeader(head);
  if (h.gtes < 1 || h.gtes > MAX_GTES_PER_GT) throw refuse(`has a VMDK numGTEsPerGT of ${h.gtes} (qemu reads 1 to ${MAX_GTES_PER_GT})`);
  if (h.grainSectors < 1 || h.grainSectors > MAX_GRAIN_SECTORS) throw refuse(`has a VMDK grainSize of ${h.grainSectors} sectors (qemu reads 1 to ${MAX_GRAIN_SECTORS})`);
  const grainBytes = h.grainSectors * SECTOR;
  if (grainBytes > MAX_STREAM_GRAIN_BYTES) throw new NotStreamableError(`${label}: has a VMDK grainSize of ${h.grainSectors} sectors, above the ${MAX_STREAM_GRAIN_BYTES} bytes the streaming decoder buffers per grain`, { file: label });
  const totalGrains = Math.ceil(h.capacity / h.grainSectors);
  const gdEntries = Math.ceil(totalGrains / h.gtes);
  if (gdEntries > MAX_GD_ENTRIES) throw refuse(`has a VMDK grain directory of ${gdEntries} entries, above qemu's limit of ${MAX_GD_ENTRIES}`);
  const overheadSectors = Number(head.readBigUInt64LE(64));
  if (!(overheadSectors >= descriptorEnd && overheadSectors >= 1)) throw refuse(`has its first grain (overHead) at sector ${overheadSectors}, inside its header or descriptor (which end at sector ${descriptorEnd})`);
  const gdSectors = Math.ceil((gdEntries * 4) / SECTOR);
  if (!h.gdAtEnd) {
    const where = `its grain directory is at sector ${h.gdOffset}`;
    if (h.gdOffset < descriptorEnd || h.gdOffset + gdSectors > overheadSectors) throw new NotStreamableError(`${label}: ${where}, not between its descriptor (ending at sector ${descriptorEnd}) and its first grain (sector ${overheadSectors}) nor after the grains (gdOffset GD_AT_END): only a seeking reader can follow it`, { file: label });
    if (gdEntries > MAX_HELD_GD_ENTRIES) throw new NotStreamableError(`${label}: ${where} with ${gdEntries} entries, more than the ${MAX_HELD_GD_ENTRIES} the streaming decoder holds`, { file: label });
  }
  return {
    flags: h.flags,
    capacitySectors: h.capacity,
    capacityBytes,
    grainSectors: h.grainSectors,
    grainBytes,
    gtes: h.gtes,
    totalGrains,
    gdEntries,
    overheadSectors,
    descriptorEnd,
    gdAtEnd: h.gdAtEnd,
    gdOffset: h.gdAtEnd ? 0 : h.gdOffset,
  };
}

/**
 * Why a stream's footer (a SparseExtentHeader) does not describe the same extent as its lead-in,
 * or undefined when it does; qemu reads the footer's fields instead of the header's.
 */
export function footerMismatch(footer: Buffer, h: StreamHeader): string | undefined {
  if (footer.toString('latin1', 0, 4) !== 'KDMV') return 'is not a sparse extent header (no KDMV)';
  const f = parseHeader(footer);
  if (f.gdAtEnd) return 'has gdOffset GD_AT_END too';
  const differs: string[] = [];
  if (f.capacity !== h.capacitySectors) differs.push(`capacity ${f.capacity} sectors, not ${h.capacitySectors}`);
  if (f.grainSectors !== h.grainSectors) differs.push(`grainSize ${f.grainSectors}, not ${h.grainSectors}`);
  if (f.gtes !== h.gtes) differs.push(`numGTEsPerGT ${f.gtes}, not ${h.gtes}`);
  if (f.flags !== h.flags || !f.compressed) differs.push(`flags 0x${f.flags.toString(16)} and compressAlgorithm ${footer.readUInt16LE(77)}`);
  return differs.length > 0 ? `differs from the header: ${differs.join(', ')}` : undefined;
}

