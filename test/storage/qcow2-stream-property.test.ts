// Property: for any ascending layout of data and zero ranges (aligned or not, crossing clusters
// and L2 tables or not, on a disk of any size), the encoded image is clean and holds the bytes.
import { join } from 'node:path';
import { it } from 'node:test';
import fc from 'fast-check';
import { fcParams } from '../property/helpers.js';
import { scratchDir } from './helpers.js';
import { assertSame, encode, pattern, type Range } from './qcow2-stream-helpers.js';

const CLUSTER = 65536;
const L2_SPAN = 512 * 2 ** 20;

/** A disk size and ascending, non-overlapping ranges inside it, from gaps and lengths drawn near cluster and L2 boundaries. */
const layouts = fc
  .record({
    size: fc.oneof(fc.integer({ min: 1, max: 4 * CLUSTER }), fc.integer({ min: 1, max: 3 * L2_SPAN })),
    steps: fc.array(fc.record({ gap: fc.oneof(fc.integer({ min: 0, max: 2 * CLUSTER }), fc.constantFrom(0, 1, CLUSTER - 1, CLUSTER, L2_SPAN - CLUSTER)), length: fc.oneof(fc.integer({ min: 1, max: 3 * CLUSTER }), fc.constantFrom(1, 512, CLUSTER)), zero: fc.boolean() }), { maxLength: 12 }),
    chunk: fc.constantFrom(CLUSTER, 3 * CLUSTER, 2 ** 20),
  })
  .map(({ size, steps, chunk }) => {
    const ranges: Range[] = [];
    let at = 0;
    for (const [i, s] of steps.entries()) {
      const offset = at + s.gap;
      const length = Math.min(s.length, size - offset);
      if (length <= 0) break;
      ranges.push(s.zero ? { offset, zero: length } : { offset, data: pattern(length, i + 1) });
      at = offset + length;
    }
    return { size, ranges, chunk };
  });

it('encodes every ascending layout into a clean qcow2 image holding exactly its bytes', async () => {
  const { dir, cleanup } = await scratchDir();
  let n = 0;
  try {
    await fc.assert(
      fc.asyncProperty(layouts, async ({ size, ranges, chunk }) => {
        n++;
        await encode(join(dir, `${n}.qcow2`), join(dir, `${n}.raw`), size, ranges, chunk);
        await assertSame(join(dir, `${n}.qcow2`), join(dir, `${n}.raw`));
      }),
      fcParams(40, 60_000),
    );
  } finally {
    await cleanup();
  }
});
