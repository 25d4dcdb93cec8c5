// Broken variants of qemu-img's own streamOptimized layout (grain directory and tables in the
// lead-in, before the grains, no end-of-stream marker), decoded by the streaming decoder and by
// qemu-img: same guest bytes or both refuse, or the documented case where qemu accepts.

import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeRaw, scratchDir } from '../export/vmdk/helpers.js';
import { GRAIN, noise, ourDecode, qemuDecode, qemuImg, SECTOR, text } from './vmdk-stream-helpers.js';

/** Sector offsets of the grain markers after the lead-in of a qemu-written stream. */
function grainSectors(b: Buffer): number[] {
  const out: number[] = [];
  for (let at = Number(b.readBigUInt64LE(64)) * SECTOR; at + 12 <= b.length; ) {
    const size = b.readUInt32LE(at + 8);
    if (size === 0) break;
    out.push(at / SECTOR);
    at += Math.ceil((12 + size) / SECTOR) * SECTOR;
  }
  return out;
}

describe('streaming VMDK decoder on broken tables-first (qemu-img) streams', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let good: Buffer;
  before(async () => {
    ({ dir, cleanup } = await scratchDir());
    const raw = await makeRaw(join(dir, 'src.img'), 600 * GRAIN, [
      { at: 0, bytes: text(2 * GRAIN, 1) },
      { at: 7 * GRAIN, bytes: noise(GRAIN, 2) },
      { at: 513 * GRAIN, bytes: text(GRAIN, 3) },
    ]);
    await qemuImg('convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized', raw, join(dir, 'good.vmdk'));
    good = await readFile(join(dir, 'good.vmdk'));
  });
  after(() => cleanup());

  async function both(bytes: Buffer) {
    const vmdk = join(dir, 'x.vmdk');
    await writeFile(vmdk, bytes);
    return { q: await qemuDecode(vmdk, join(dir, 'q.raw')), o: await ourDecode(vmdk, join(dir, 'o.raw'), 4096) };
  }

  it('the unbroken stream decodes (no end-of-stream marker: qemu writes none)', async () => {
    const { q, o } = await both(good);
    assert.ok(q.ok && o.ok && o.raw.equals(q.raw));
  });

  it('cut after a whole grain, before the last one: both refuse', async () => {
    const last = grainSectors(good).pop()!;
    const { q, o } = await both(good.subarray(0, last * SECTOR));
    assert.equal(q.ok, false, 'qemu-img reads the grain its table names past the end of the file');
    assert.ok(!o.ok && /grain table 1 entry 1 names sector \d+, where the stream has no grain marker/.test(o.error), !o.ok ? o.error : 'accepted');
  });

  it('a marker whose LBA contradicts its table entry: qemu-img follows the table, the decoder refuses', async () => {
    const b = Buffer.from(good);
    const second = grainSectors(b)[1]!;
    b.writeBigUInt64LE(BigInt(200 * 128), second * SECTOR); // the marker now claims grain 200
    const { q, o } = await both(b);
    assert.ok(q.ok, 'qemu never reads the LBA of a marker');
    assert.ok(!o.ok && /the grain at byte \d+ \(LBA 25600\) is not named by its grain table/.test(o.error), !o.ok ? o.error : 'accepted');
  });

  it('a table entry that points into the lead-in: both refuse', async () => {
    const b = Buffer.from(good);
    const gd = Number(b.readBigUInt64LE(56));
    const gt0 = b.readUInt32LE(gd * SECTOR);
    b.writeUInt32LE(1, gt0 * SECTOR); // grain 0 "is" at sector 1 (the descriptor)
    const { q, o } = await both(b);
    assert.equal(q.ok, false, q.ok ? 'qemu-img accepted' : '');
    assert.ok(!o.ok && /not the one its grain table names \(sector 1\)/.test(o.error), !o.ok ? o.error : 'accepted');
  });
});
