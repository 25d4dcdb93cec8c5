// writeStreamOptimized on raw sources: the VMDK it writes is read back by the real qemu-img
// (info, check, compare, convert) and walked sector by sector like a sequential importer.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { logQemuImg } from '../../storage/qemu-img-log.js';
import { GRAIN, KiB, makeRaw, MiB, noise, qemuImg, scratchDir, text, walkStream, writeVmdk } from './helpers.js';
import { measureTemp } from './temp-usage.js';

/** Checks `vmdk` against the raw `src` with qemu-img and the stream walker; returns the walk. */
async function checkAgainstRaw(src: string, vmdk: string, dir: string): Promise<Awaited<ReturnType<typeof walkStream>>> {
  const original = await readFile(src);
  const capacity = Math.ceil(original.length / 512) * 512;
  const info = JSON.parse((await qemuImg('info', '--output=json', '-f', 'vmdk', vmdk)).stdout) as Record<string, unknown>;
  assert.equal(info['virtual-size'], capacity);
  assert.equal((info['format-specific'] as { data: { 'create-type': string } }).data['create-type'], 'streamOptimized');
  const check = await qemuImg('check', '-f', 'vmdk', vmdk);
  assert.match(check.stdout, /No errors were found on the image/);
  assert.deepEqual(await qemuImg('compare', '-f', 'raw', '-F', 'vmdk', src, vmdk), { stdout: 'Images are identical.\n', code: 0 });
  const back = join(dir, 'back.raw');
  await qemuImg('convert', '-f', 'vmdk', '-O', 'raw', vmdk, back);
  const roundTrip = await readFile(back);
  assert.equal(roundTrip.length, capacity);
  assert.ok(roundTrip.subarray(0, original.length).equals(original), 'converted back, the bytes are the source bytes');
  assert.ok(roundTrip.subarray(original.length).equals(Buffer.alloc(capacity - original.length)), 'padding to a sector reads as zeros');

  const walk = await walkStream(vmdk);
  for (const h of [walk.header, walk.footer]) {
    assert.equal(h.magic, 'KDMV');
    assert.equal(h.version, 3);
    assert.equal(h.flags, 0x30001);
    assert.equal(h.capacity, BigInt(capacity / 512));
    assert.equal(h.grainSize, 128n);
    assert.equal(h.numGTEsPerGT, 512);
    assert.equal(h.compressAlgorithm, 1);
    assert.equal(h.newlineChars, '\n \r\n');
  }
  assert.equal(walk.header.gdOffset, 0xffffffffffffffffn, 'the leading header defers to the footer');
  assert.ok(walk.footer.gdOffset > 128n && walk.footer.gdOffset < 0xffffffffn);
  assert.match(walk.descriptor, /^createType="streamOptimized"$/m);
  assert.match(walk.descriptor, new RegExp(`^RW ${capacity / 512} SPARSE "`, 'm'));
  // Every written grain holds the source bytes; every grain not written is zero in the source.
  for (let g = 0; g * GRAIN < capacity; g++) {
    const want = Buffer.alloc(GRAIN);
    original.copy(want, 0, g * GRAIN, Math.min(original.length, (g + 1) * GRAIN));
    const got = walk.grains.get(g);
    if (got) assert.ok(got.equals(want), `grain ${g} holds the source bytes`);
    else assert.ok(want.equals(Buffer.alloc(GRAIN)), `grain ${g} is zero in the source`);
    if (got) assert.ok(!got.equals(Buffer.alloc(GRAIN)), `grain ${g} written although zero`);
  }
  return walk;
}

describe('writeStreamOptimized from raw', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await scratchDir()));
  after(() => cleanup());

  it('writes mixed content of a size that is not a multiple of 64 KiB (text, noise, written zeros, holes, last sector)', async () => {
    const size = 5 * MiB + 3 * 512;
    const src = await makeRaw(join(dir, 'mixed.raw'), size, [
      { at: 0, bytes: text(100 * KiB) },
      { at: 1 * MiB, bytes: Buffer.alloc(128 * KiB) }, // allocated, but zeros
      { at: 2 * MiB, bytes: noise(200 * KiB) },
      { at: 3 * MiB + 777, bytes: text(5000, 1) },
      { at: size - 512, bytes: Buffer.from('LAST SECTOR') },
    ]);
    const out = join(dir, 'mixed.vmdk');
    const progress: Array<[number, number]> = [];
    const qemu = logQemuImg();
    const mark = qemu.mark();
    const temp = await measureTemp(() => writeVmdk({ path: src, format: 'raw' }, out, { onProgress: (d, t) => progress.push([d, t]) }));
    const result = temp.result;
    const calls = qemu.since(mark);
    const walk = await checkAgainstRaw(src, out, dir);
    // grains 0-1 (text), 32-35 (noise), 48 (text), 80 (last sector)
    assert.deepEqual([...walk.grains.keys()], [0, 1, 32, 33, 34, 35, 48, 80]);
    assert.equal(result.grainsWritten, 8);
    assert.equal(result.virtualSizeBytes, size);
    assert.equal(result.bytesWritten, (await readFile(out)).length);
    assert.equal(result.readMethod, 'raw file');
    assert.deepEqual({ created: temp.created, peakBytes: temp.peakBytes }, { created: [], peakBytes: 0 }, 'no temporary file is written');
    assert.deepEqual(progress.at(-1), [size, size]);
    assert.ok(progress.every(([d, t], i) => t === size && d <= size && (i === 0 || d >= progress[i - 1]![0])), 'progress only grows');
    assert.ok(calls.some((a) => a[0] === 'map'), 'extents come from qemu-img map');
    for (const args of calls) assert.ok(args.includes('-f'), `qemu-img ${args.join(' ')} carries -f`);
  });

  it('writes an all-zero disk (never written, then written with zeros) as no grain at all', async () => {
    for (const [name, writes] of [
      ['sparse', []],
      ['zeros', [{ at: 0, bytes: Buffer.alloc(3 * MiB) }]],
    ] as const) {
      const src = await makeRaw(join(dir, `${name}.raw`), 3 * MiB, [...writes]);
      const out = join(dir, `${name}.vmdk`);
      const result = await writeVmdk({ path: src, format: 'raw' }, out);
      const walk = await checkAgainstRaw(src, out, dir);
      assert.equal(result.grainsWritten, 0);
      assert.equal(walk.grains.size, 0);
      assert.equal(walk.tables, 0);
      assert.deepEqual(walk.gd, [0]);
      // lead-in (128 sectors), GD marker + GD, footer marker + footer, EOS
      assert.equal(result.bytesWritten, (128 + 2 + 2 + 1) * 512);
    }
  });

  it('writes data at the very last sector of a disk whose last grain is partial', async () => {
    const size = 10 * MiB + 512;
    const src = await makeRaw(join(dir, 'last.raw'), size, [{ at: size - 512, bytes: Buffer.alloc(512, 0xee) }]);
    const out = join(dir, 'last.vmdk');
    const result = await writeVmdk({ path: src, format: 'raw' }, out);
    const walk = await checkAgainstRaw(src, out, dir);
    assert.deepEqual([...walk.grains.keys()], [160]);
    assert.equal(result.grainsWritten, 1);
  });

  it('writes a disk of an odd byte size as the size rounded up to a sector, as qemu reads it', async () => {
    const src = await makeRaw(join(dir, 'odd.raw'), 70_001, [{ at: 0, bytes: noise(70_001, 3) }]);
    const out = join(dir, 'odd.vmdk');
    const result = await writeVmdk({ path: src, format: 'raw' }, out);
    assert.equal(result.virtualSizeBytes, 70_144);
    await checkAgainstRaw(src, out, dir);
  });

  it('spans several grain tables, leaving an empty one out of the directory', async () => {
    const size = 80 * MiB;
    const src = await makeRaw(join(dir, 'tables.raw'), size, [
      { at: 0, bytes: text(300 * KiB) },
      { at: 31 * MiB, bytes: noise(2 * MiB, 4) }, // crosses into table 1? no: 31-33 MiB crosses 32 MiB
      { at: 70 * MiB, bytes: text(64 * KiB, 5) },
      { at: size - 4096, bytes: noise(4096, 6) },
    ]);
    const out = join(dir, 'tables.vmdk');
    await writeVmdk({ path: src, format: 'raw' }, out, { threads: 3 });
    const walk = await checkAgainstRaw(src, out, dir);
    assert.equal(walk.gd.length, 3);
    assert.equal(walk.tables, 3);
    const sparse = await makeRaw(join(dir, 'gap.raw'), size, [
      { at: 0, bytes: text(64 * KiB) },
      { at: 70 * MiB, bytes: text(64 * KiB, 7) },
    ]);
    await writeVmdk({ path: sparse, format: 'raw' }, out);
    const gap = await checkAgainstRaw(sparse, out, dir);
    assert.equal(gap.tables, 2);
    assert.equal(gap.gd[1], 0, 'the grain table of 32-64 MiB maps nothing and is not written');
  });

  it('writes the same grains whatever the thread count and level, and honours level 0 (stored) and 9', async () => {
    const src = await makeRaw(join(dir, 'threads.raw'), 6 * MiB, [
      { at: 0, bytes: text(2 * MiB) },
      { at: 3 * MiB, bytes: noise(1 * MiB, 8) },
    ]);
    const sizes: number[] = [];
    let reference: Buffer | undefined;
    for (const threads of [1, 2, 5]) {
      const out = join(dir, `threads-${threads}.vmdk`);
      await writeVmdk({ path: src, format: 'raw' }, out, { threads });
      const body = (await readFile(out)).subarray(128 * 512); // after the descriptor (random CID)
      reference ??= body;
      assert.ok(body.equals(reference), `${threads} threads: same bytes after the lead-in`);
    }
    for (const level of [0, 1, 9]) {
      const out = join(dir, `level-${level}.vmdk`);
      sizes.push((await writeVmdk({ path: src, format: 'raw' }, out, { level })).bytesWritten);
      await checkAgainstRaw(src, out, dir);
    }
    assert.ok(sizes[0]! > 3 * MiB && sizes[1]! < sizes[0]! && sizes[2]! <= sizes[1]!, `sizes by level ${sizes.join(', ')}`);
    const deflated = join(dir, 'deflate-all.vmdk');
    const all = await writeVmdk({ path: src, format: 'raw' }, deflated, { storeIncompressible: false });
    await checkAgainstRaw(src, deflated, dir);
    assert.ok(Math.abs(all.bytesWritten - sizes[1]!) < 64 * KiB, 'storing random grains costs no size');
    await assert.rejects(writeVmdk({ path: src, format: 'raw' }, join(dir, 'bad.vmdk'), { level: 10 }), /deflate level must be an integer 0-9/);
    await assert.rejects(writeVmdk({ path: src, format: 'raw' }, join(dir, 'bad.vmdk'), { threads: 0 }), /threads must be a positive integer/);
  });
});
