// Turns an allocation map of the source (qemu-img map) into batches of 64 KiB grains to read
// and compress: only the byte ranges that may hold non-zero data are read at all.

import type { MapExtent } from '../../storage/qemu-img-map.js';
import { GRAIN_BYTES } from './format.js';

/** A guest byte range to read, from one map extent. */
export interface Segment {
  /** Guest offset, in bytes. */
  readonly start: number;
  /** Length, in bytes. */
  readonly length: number;
  /** Which image of the backing chain holds it (0: the image itself). */
  readonly depth: number;
  /** Where `start` sits in the file holding the data, in bytes, when stored as is (see MapExtent.offset). */
  readonly hostOffset?: number;
  /** The data is stored compressed. */
  readonly compressed?: boolean;
}

/** Consecutive grains `[firstGrain, firstGrain + count)`, all inside one aligned block of the batch size. */
export interface GrainBatch {
  /** Grain number (guest offset / 64 KiB) of the first grain. */
  readonly firstGrain: number;
  /** Number of grains, 1 to the batch size. */
  readonly count: number;
  /** The ranges of these grains that may hold data, ascending; everything else reads as zeros. */
  readonly segments: readonly Segment[];
}

/**
 * Batches of grains touched by extents that may hold data (every extent not reported as
 * reading zeros), in ascending order. Grains are grouped by aligned blocks of `batchGrains`
 * (a divisor of 512, so a batch never straddles two grain tables); a batch spans from the first
 * to the last touched grain of its block, and lists the data ranges inside it: only those are
 * read (zero grains among them are dropped after the read).
 *
 * @param extents the map, in guest order (bytes).
 * @param totalGrains grains of the virtual disk: ceil(size / 64 KiB); data past them is ignored.
 * @param batchGrains grains per block, a power of two dividing 512.
 */
export async function* grainBatches(extents: AsyncIterable<MapExtent>, totalGrains: number, batchGrains: number): AsyncGenerator<GrainBatch> {
  if (!(batchGrains > 0 && 512 % batchGrains === 0)) throw new RangeError(`batch of ${batchGrains} grains does not divide a grain table`);
  const blockBytes = batchGrains * GRAIN_BYTES;
  const diskEnd = totalGrains * GRAIN_BYTES;
  let block = -1;
  let lo = 0;
  let hi = 0;
  let segments: Segment[] = [];
  for await (const e of extents) {
    if (e.zero || e.length <= 0) continue;
    const end = Math.min(e.start + e.length, diskEnd);
    for (let pos = e.start; pos < end; ) {
      const b = Math.floor(pos / blockBytes);
      const segEnd = Math.min(end, (b + 1) * blockBytes);
      if (b !== block) {
        if (block >= 0) yield { firstGrain: lo, count: hi - lo, segments };
        block = b;
        lo = Math.floor(pos / GRAIN_BYTES);
        segments = [];
      }
      hi = Math.ceil(segEnd / GRAIN_BYTES);
      segments.push({
        start: pos,
        length: segEnd - pos,
        depth: e.depth,
        ...(e.offset !== undefined ? { hostOffset: e.offset + (pos - e.start) } : {}),
        ...(e.compressed ? { compressed: true } : {}),
      });
      pos = segEnd;
    }
  }
  if (block >= 0) yield { firstGrain: lo, count: hi - lo, segments };
}
