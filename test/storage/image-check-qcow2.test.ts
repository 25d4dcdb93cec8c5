// Hostile and honest qcow2 images, made by the real qemu-img and patched, against checkImage (issue 4, cases 2-4).

import assert from 'node:assert/strict';
import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkImage } from '../../src/storage/image-check.js';
import { imageInfo } from '../../src/storage/qemu-img.js';
import { alignTo512, assertRefused, embed, makeImage, patch, readAt, scratchDir, sourceOf, u32be, u64be } from './helpers.js';

describe('checkImage on qcow2 images', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let v3: string; // qcow2 version 3 (compat=1.1), 16 MiB
  let v2: string; // qcow2 version 2 (compat=0.10), 16 MiB

  before(async () => {
    ({ dir, cleanup } = await scratchDir());
    v3 = await alignTo512(await makeImage(dir, 'v3.qcow2', 'qcow2', '16M'));
    v2 = await alignTo512(await makeImage(dir, 'v2.qcow2', 'qcow2', '16M', 'compat=0.10'));
  });
  after(() => cleanup());

  /** A copy of the version-3 image, patched at `offset` with `bytes`. */
  async function patched(name: string, offset: number, bytes: Buffer, from = v3): Promise<string> {
    const path = join(dir, name);
    await copyFile(from, path);
    await patch(path, offset, bytes);
    return path;
  }

  it('accepts self-contained version 2 and 3 images, also inside a larger file, with the size qemu-img reports', async () => {
    for (const path of [v2, v3]) {
      const checked = await checkImage(await sourceOf(path, 'qcow2'), { declaredFormat: 'qcow2', capacityBytes: 16 * 2 ** 20 });
      assert.deepEqual(checked, { format: 'qcow2', virtualSizeBytes: 16 * 2 ** 20, warnings: [] });
      const inner = await embed(path, dir, `in-${path.endsWith('v2.qcow2') ? 'v2' : 'v3'}.bin`, 'qcow2');
      assert.equal((await checkImage(inner, { declaredFormat: 'qcow2' })).virtualSizeBytes, 16 * 2 ** 20);
      assert.equal((await imageInfo(inner)).virtualSizeBytes, 16 * 2 ** 20);
    }
  });

  it('refuses a backing file (-b /etc/passwd -F raw), in version 2 and 3', async () => {
    for (const compat of ['1.1', '0.10']) {
      const path = join(dir, `backed-${compat}.qcow2`);
      await makeImage(dir, `backed-${compat}.qcow2`, 'qcow2', '1M', `compat=${compat},backing_file=/etc/passwd,backing_fmt=raw`);
      await assertRefused(await sourceOf(path, 'qcow2'), /is a qcow2 with a backing file "\/etc\/passwd" \(backing_file_offset \d+, backing_file_size 11\); a disk must be self-contained/);
    }
  });

  it('refuses a backing-format header extension even without a backing file name', async () => {
    const path = join(dir, 'fmt-only.qcow2');
    await makeImage(dir, 'fmt-only.qcow2', 'qcow2', '1M', 'backing_file=/etc/passwd,backing_fmt=raw');
    await patch(path, 8, Buffer.alloc(12)); // backing_file_offset and backing_file_size = 0
    await assertRefused(await sourceOf(path, 'qcow2'), /qcow2 with a backing file format extension/);
  });

  it('refuses an external data file (-o data_file=...), by feature bit and by header extension', async () => {
    const data = join(dir, 'outside.raw');
    await writeFile(data, '');
    const path = await makeImage(dir, 'datafile.qcow2', 'qcow2', '1M', `data_file=${data}`);
    assert.equal((await readAt(path, 72, 8)).readBigUInt64BE() & 4n, 4n, 'qemu-img set incompatible bit 2');
    await assertRefused(await sourceOf(path, 'qcow2'), /qcow2 with an external data file \(incompatible_features bit 2\)/);
    await patch(path, 72, u64be(0n)); // clear the bit: the extension alone must still be refused
    await assertRefused(await sourceOf(path, 'qcow2'), new RegExp(`qcow2 naming an external data file "${data.replace(/[.]/g, '\\.')}"`));
  });

  it('refuses unknown incompatible feature bits, the corrupt bit, encryption and qcow version 1', async () => {
    await assertRefused(await sourceOf(await patched('bit7.qcow2', 72, u64be(1n << 7n)), 'qcow2'), /unknown incompatible features 0x80/);
    await assertRefused(await sourceOf(await patched('bit63.qcow2', 72, u64be(1n << 63n)), 'qcow2'), /unknown incompatible features 0x8000000000000000/);
    await assertRefused(await sourceOf(await patched('corrupt.qcow2', 72, u64be(2n)), 'qcow2'), /qcow2 marked corrupt/);
    await assertRefused(await sourceOf(await patched('aes.qcow2', 32, u32be(1)), 'qcow2'), /encrypted qcow2 \(crypt_method 1\)/);
    await assertRefused(await sourceOf(await patched('qcow1.qcow2', 4, u32be(1)), 'qcow2'), /is qcow2 version 1; only versions 2 and 3/);
    await assertRefused(await sourceOf(await patched('hl.qcow2', 100, u32be(12345)), 'qcow2'), /invalid qcow2 header_length 12345/);
    await assertRefused(await sourceOf(await patched('cb.qcow2', 20, u32be(40)), 'qcow2'), /invalid qcow2 cluster_bits 40/);
  });

  it('accepts the dirty and extended-L2 bits, which are known', async () => {
    const dirty = await patched('dirty.qcow2', 72, u64be(1n));
    assert.equal((await checkImage(await sourceOf(dirty, 'qcow2'), { declaredFormat: 'qcow2' })).virtualSizeBytes, 16 * 2 ** 20);
    const l2 = await makeImage(dir, 'l2.qcow2', 'qcow2', '16M', 'extended_l2=on');
    assert.equal((await checkImage(await sourceOf(l2, 'qcow2'), { declaredFormat: 'qcow2' })).virtualSizeBytes, 16 * 2 ** 20);
  });

  it('refuses a tiny qcow2 claiming 2^60 bytes (size field patched), and one far above ovf:capacity', async () => {
    const huge = await patched('huge.qcow2', 24, u64be(1n << 60n));
    await assertRefused(await sourceOf(huge, 'qcow2'), /its header claims a virtual size of 1152921504606846976 bytes \(1\.0 EiB\), above the limit of 1125899906842624 bytes \(1\.0 PiB\)/);
    const pib = await patched('pib.qcow2', 24, u64be((1n << 50n) + 512n));
    await assertRefused(await sourceOf(pib, 'qcow2'), /above the limit of 1125899906842624 bytes/);
    const big = await makeImage(dir, 'big.qcow2', 'qcow2', '2G');
    await assertRefused(await sourceOf(big, 'qcow2'), /2147483648 bytes \(2\.0 GiB\), more than 64 times the 16777216 bytes \(16\.0 MiB\) the descriptor declares \(ovf:capacity\)/, { capacityBytes: 16 * 2 ** 20 });
    // 64 times is tolerated (descriptors get their units wrong), and no capacity means only the 1 PiB limit.
    assert.equal((await checkImage(await sourceOf(big, 'qcow2'), { declaredFormat: 'qcow2', capacityBytes: 32 * 2 ** 20 })).virtualSizeBytes, 2 ** 31);
    assert.equal((await checkImage(await sourceOf(big, 'qcow2'), { declaredFormat: 'qcow2' })).virtualSizeBytes, 2 ** 31);
  });

  it('refuses format confusion: declared qcow2 but the bytes are vmdk, vdi or raw', async () => {
    const vmdk = await makeImage(dir, 'x.vmdk', 'vmdk', '1M', 'subformat=streamOptimized');
    await assertRefused({ ...(await sourceOf(vmdk, 'vmdk')), format: 'qcow2' }, /declared qcow2 \(ovf:format\) but the file is vmdk/);
    const vdi = await makeImage(dir, 'x.vdi', 'vdi', '1M');
    await assertRefused({ ...(await sourceOf(vdi, 'vdi')), format: 'qcow2' }, /declared qcow2 \(ovf:format\) but the file is vdi/);
    const short = join(dir, 'short.qcow2');
    await writeFile(short, 'QFI\xfb', 'latin1');
    await assertRefused(await sourceOf(short, 'qcow2'), /too short to hold a qcow2 header/);
  });
});
