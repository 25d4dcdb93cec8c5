// Refcount, L1 and L2 tables of qcow2 images with data (qemu-img convert: version 2, version 3,
// compressed, extended L2), corrupted byte-wise: checkImage refuses each before qemu-img runs,
// where the system qemu-img would have read zeros and exited 0 (issue 9, item 8).

import assert from 'node:assert/strict';
import { stat, truncate } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { assertRefused, makeImage, patch, readAt, sourceOf, u32be } from './helpers.js';
import { assertAccepted, assertQemuWouldAccept, be64, convertTo, corrupt, MiB, qcow2Data, qcow2Layout, qemuConverts, suiteImages } from './tables-helpers.js';

const TiB = 2n ** 40n;
const COPIED = 1n << 63n;
const KINDS = ['v2', 'v3', 'compressed', 'extended'] as const;
type Kind = (typeof KINDS)[number];
/** Bytes per L2 entry of each fixture. */
const L2_ENTRY = { v2: 8, v3: 8, compressed: 8, extended: 16 } as const;

describe('checkImage bounds-checks qcow2 refcount, L1 and L2 tables', () => {
  const suite = suiteImages(async (raw, dir): Promise<Record<Kind, string>> => ({
    v2: await convertTo(raw, dir, 'v2.qcow2', 'qcow2', 'compat=0.10'),
    v3: await convertTo(raw, dir, 'v3.qcow2', 'qcow2', 'compat=1.1'),
    compressed: await convertTo(raw, dir, 'compressed.qcow2', 'qcow2', 'compat=1.1', true),
    extended: await convertTo(raw, dir, 'extended.qcow2', 'qcow2', 'compat=1.1,extended_l2=on'),
  }));

  const refuse = async (path: string, pattern: RegExp) => assertRefused(await sourceOf(path, 'qcow2'), pattern);

  it('accepts version 2, version 3, compressed and extended-L2 images with data, alone and inside a larger file', async () => {
    for (const kind of KINDS) await assertAccepted(suite, kind, 'qcow2');
  });

  it('refuses an L1 entry naming an L2 table beyond the end of the image, which qemu-img reads as empty', async () => {
    for (const kind of KINDS) {
      const l = await qcow2Layout(suite.images[kind]);
      const bad = await corrupt(suite.images[kind], suite.dir, `${kind}-l1e.qcow2`, [[l.l1Offset, be64(TiB | COPIED)]]);
      await refuse(bad, /: L1 table entry 0 points to an L2 table at offset 1099511627776, beyond the end of the image \(\d+ bytes\); refused before qemu-img/);
      await assertQemuWouldAccept(bad, 'qcow2', suite.raw, { same: false });
    }
  });

  it('refuses an L2 entry naming a data cluster beyond the end of the image, which qemu-img reads as zeros', async () => {
    for (const kind of ['v2', 'v3', 'extended'] as const) {
      const data = await qcow2Data(suite.images[kind], await qcow2Layout(suite.images[kind]), L2_ENTRY[kind]);
      const bad = await corrupt(suite.images[kind], suite.dir, `${kind}-l2e.qcow2`, [[data.at, be64(TiB | COPIED)]]);
      await refuse(bad, new RegExp(`: L2 table 0 entry ${data.entry} points to a data cluster at offset 1099511627776, beyond the end of the image`));
      await assertQemuWouldAccept(bad, 'qcow2', suite.raw, { same: false });
    }
  });

  it('refuses a compressed cluster descriptor beyond the end of the image, or running past it', async () => {
    const data = await qcow2Data(suite.images.compressed, await qcow2Layout(suite.images.compressed));
    assert.ok(data.value & (1n << 62n), 'the fixture has compressed clusters');
    const offsetMask = (1n << 54n) - 1n; // 64 KiB clusters: host offset in bits 0-53
    const far = await corrupt(suite.images.compressed, suite.dir, 'compressed-far.qcow2', [[data.at, be64((data.value & ~offsetMask) | TiB)]]);
    await refuse(far, new RegExp(`: L2 table 0 entry ${data.entry} points to a compressed cluster at offset 1099511627776, beyond the end of the image`));
    const size = (await stat(suite.images.compressed)).size;
    const tail = BigInt(size - 100);
    const past = await corrupt(suite.images.compressed, suite.dir, 'compressed-past.qcow2', [[data.at, be64((1n << 62n) | (3n << 54n) | tail)]]);
    await refuse(past, new RegExp(`: L2 table 0 entry ${data.entry} points to a compressed cluster \\(offset ${tail}, \\d+ bytes\\) that runs past the end of the image`));
    for (const path of [far, past]) assert.notEqual((await qemuConverts(path, 'qcow2', suite.raw)).code, 0, 'qemu-img cannot decompress zeros: it fails by itself, later and less clearly');
  });

  it('refuses a truncated image whose last data clusters are cut off', async () => {
    for (const kind of ['v2', 'v3'] as const) {
      const l = await qcow2Layout(suite.images[kind]);
      const l2 = Number(l.l1[0]! & 0x00fffffffffffe00n);
      const entry = (33 * MiB) / l.clusterBytes; // the first cluster of noise, the last data written
      const offset = Number((await readAt(suite.images[kind], l2 + entry * 8, 8)).readBigUInt64BE() & 0x00fffffffffffe00n);
      const bad = await corrupt(suite.images[kind], suite.dir, `${kind}-cut.qcow2`, [], offset);
      await refuse(bad, new RegExp(`: L2 table 0 entry ${entry} points to a data cluster at offset ${offset}, beyond the end of the image \\(${offset} bytes\\)`));
      await assertQemuWouldAccept(bad, 'qcow2', suite.raw, { same: false });
    }
  });

  it('refuses an L1 table or a refcount table beyond the end of the image, and a refcount block beyond it', async () => {
    const l1 = await corrupt(suite.images.v3, suite.dir, 'l1-far.qcow2', [[40, be64(TiB)]]);
    await refuse(l1, /: its qcow2 L1 table \(offset 1099511627776, 8 bytes\) runs past the end of the image/);
    await assertQemuWouldAccept(l1, 'qcow2', suite.raw, { same: false });
    for (const kind of ['v2', 'v3'] as const) {
      const ref = await corrupt(suite.images[kind], suite.dir, `${kind}-ref-far.qcow2`, [[48, be64(TiB)]]);
      await refuse(ref, /: its qcow2 refcount table \(offset 1099511627776, 65536 bytes\) runs past the end of the image/);
      await assertQemuWouldAccept(ref, 'qcow2', suite.raw, { same: true });
      const block = await corrupt(suite.images[kind], suite.dir, `${kind}-refblock-far.qcow2`, [[(await qcow2Layout(suite.images[kind])).refOffset, be64(TiB)]]);
      await refuse(block, /: refcount table entry 0 points to a refcount block at offset 1099511627776, beyond the end of the image/);
      await assertQemuWouldAccept(block, 'qcow2', suite.raw, { same: true });
    }
  });

  it('refuses tables and clusters not aligned to the cluster size (as qemu-img does, more clearly)', async () => {
    const l = await qcow2Layout(suite.images.v3);
    const l1e = await corrupt(suite.images.v3, suite.dir, 'l1e-unaligned.qcow2', [[l.l1Offset, be64(l.l1[0]! + 512n)]]);
    await refuse(l1e, /: L1 table entry 0 points to an L2 table at offset \d+, not aligned to the 65536-byte clusters/);
    const data = await qcow2Data(suite.images.v3, l);
    const l2e = await corrupt(suite.images.v3, suite.dir, 'l2e-unaligned.qcow2', [[data.at, be64(data.value + 512n)]]);
    await refuse(l2e, new RegExp(`: L2 table 0 entry ${data.entry} points to a data cluster at offset \\d+, not aligned`));
    await refuse(await corrupt(suite.images.v3, suite.dir, 'l1-unaligned.qcow2', [[40, be64(BigInt(l.l1Offset + 512))]]), /: has a qcow2 L1 table at offset \d+, not aligned to its 65536-byte clusters/);
    for (const path of [l1e, l2e]) assert.notEqual((await qemuConverts(path, 'qcow2', suite.raw)).code, 0, 'qemu-img marks unaligned entries corrupt by itself');
  });

  it('refuses absurd table sizes, and tables that repeat beyond the read budget', async () => {
    await refuse(await corrupt(suite.images.v3, suite.dir, 'l1-huge.qcow2', [[36, u32be(2 ** 25)]]), /: has a qcow2 L1 table of 268435456 bytes, above qemu's limit of 33554432/);
    await refuse(await corrupt(suite.images.v3, suite.dir, 'ref-huge.qcow2', [[56, u32be(1024)]]), /: has a qcow2 refcount table of 67108864 bytes, above qemu's limit of 8388608/);
    // 20 TiB with 2 MiB clusters: 40 L1 entries, each made to name the same zero-filled L2 table.
    const repeat = await makeImage(suite.dir, 'repeat.qcow2', 'qcow2', '20T', 'cluster_size=2M');
    const l = await qcow2Layout(repeat);
    assert.equal(l.l1.length, 40);
    await truncate(repeat, 5 * 2 * MiB);
    for (let i = 0; i < 40; i++) await patch(repeat, l.l1Offset + i * 8, be64(BigInt(4 * 2 * MiB) | COPIED));
    await refuse(repeat, /: reading its L2 tables would take more than \d+ bytes, more than the image itself holds: its tables repeat or overlap/);
  });
});
