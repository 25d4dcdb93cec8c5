// Differential test of the streaming VMDK decoder against qemu-img on well-formed images:
// streamOptimized VMDKs written by qemu-img (tables first), by virt-ovf's export writer and by
// the test's own builder (VMware's layout), with random layouts, all-zero grains, a last partial
// grain and capacities that are no multiple of the grain; decoded into a raw file through
// RawFileSink, they must equal `qemu-img convert -O raw` byte for byte.

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeRaw, scratchDir, writeVmdk } from '../export/vmdk/helpers.js';
import { craft, GRAIN, noise, ourDecode, ourDecodeFile, qemuDecode, qemuImg, text } from './vmdk-stream-helpers.js';

/** A seeded layout: which grains of a disk of `grains` grains hold data, zeros, or nothing. */
function layout(seed: number, grains: number): Array<{ grain: number; kind: 'text' | 'noise' | 'zero' }> {
  let x = seed + 1;
  const rnd = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const out: Array<{ grain: number; kind: 'text' | 'noise' | 'zero' }> = [];
  for (let g = 0; g < grains; g++) {
    const r = rnd();
    if (r < 0.35) out.push({ grain: g, kind: 'text' });
    else if (r < 0.5) out.push({ grain: g, kind: 'noise' });
    else if (r < 0.6) out.push({ grain: g, kind: 'zero' });
  }
  return out;
}

const bytesOf = (kind: string, len: number, seed: number): Buffer => (kind === 'noise' ? noise(len, seed) : kind === 'text' ? text(len, seed) : Buffer.alloc(len));

describe('streaming VMDK decoder equals qemu-img convert', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await scratchDir()));
  after(() => cleanup());

  /** Decodes `vmdk` both ways and compares; returns ours. */
  async function same(vmdk: string, chunk?: number): Promise<Buffer> {
    const q = await qemuDecode(vmdk, join(dir, 'q.raw'));
    const o = await ourDecode(vmdk, join(dir, 'o.raw'), chunk);
    assert.ok(q.ok, `qemu-img refused a well-formed image: ${!q.ok && q.error}`);
    assert.ok(o.ok, `the decoder refused a well-formed image: ${!o.ok && o.error}`);
    assert.equal(o.raw.length, q.raw.length, 'virtual size');
    assert.ok(o.raw.equals(q.raw), 'guest bytes differ from qemu-img convert');
    return o.raw;
  }

  const sizes = [GRAIN, 3 * GRAIN + 512, 700 * 512, 40 * GRAIN + 7 * 512, 530 * GRAIN + 65 * 512];
  for (const [i, size] of sizes.entries()) {
    it(`qemu-img's own streamOptimized output (tables first), ${size} bytes, layout ${i}`, async () => {
      const writes = layout(i, Math.ceil(size / GRAIN)).map(({ grain, kind }) => ({ at: grain * GRAIN, bytes: bytesOf(kind, Math.min(GRAIN, size - grain * GRAIN), grain) }));
      const raw = await makeRaw(join(dir, `q${i}.img`), size, writes);
      const vmdk = join(dir, `q${i}.vmdk`);
      await qemuImg('convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized', raw, vmdk);
      await same(vmdk, [512, 4096, 65536, 1 << 20][i % 4]);
    });

    it(`virt-ovf's export writer (tables after the grains), ${size} bytes, layout ${i}`, async () => {
      const writes = layout(100 + i, Math.ceil(size / GRAIN)).map(({ grain, kind }) => ({ at: grain * GRAIN, bytes: bytesOf(kind, Math.min(GRAIN, size - grain * GRAIN), grain) }));
      const raw = await makeRaw(join(dir, `w${i}.img`), size, writes);
      const vmdk = join(dir, `w${i}.vmdk`);
      await writeVmdk({ path: raw, format: 'raw' }, vmdk);
      await same(vmdk, [7, 65536, 333333][i % 3]);
    });
  }

  it('a crafted stream with all-zero grains, gaps, a partial last grain that inflates short, and an empty table span', async () => {
    const capacitySectors = 1030 * 128 + 5; // the last grain holds 5 sectors
    const vmdk = join(dir, 'crafted.vmdk');
    await writeFile(vmdk, craft({
      capacitySectors,
      grains: [
        { lba: 0, data: text(GRAIN, 1) },
        { lba: 128, data: Buffer.alloc(GRAIN) },
        { lba: 5 * 128, data: noise(GRAIN, 2) },
        { lba: 600 * 128, data: Buffer.alloc(GRAIN) },
        { lba: 1030 * 128, data: text(5 * 512, 3) },
      ],
    }));
    const raw = await same(vmdk);
    assert.equal(raw.length, capacitySectors * 512);
    const r = await ourDecodeFile(vmdk, join(dir, 'again.raw'));
    assert.equal(r.grains, 5);
    assert.equal(r.dataBytes, GRAIN + GRAIN + 5 * 512, 'all-zero grains are declared zero, not written');
  });
});
