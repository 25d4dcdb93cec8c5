// checkImage on raw, VHD, VDI and VHDX images, polyglots and byte ranges that are not plain files (issue 4, cases 2-4).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkImage } from '../../src/storage/image-check.js';
import { imageInfo } from '../../src/storage/qemu-img.js';
import { alignTo512, assertRefused, makeImage, patch, readAt, scratchDir, sourceOf, u32be, u64le } from './helpers.js';
import { logQemuImg } from './qemu-img-log.js';

/** Every qemu-img run of this file, seen through a logging wrapper first in PATH. */
const qemuLog = logQemuImg();

describe('checkImage on raw, vpc, vdi and vhdx images', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let qcow2: string;

  before(async () => {
    ({ dir, cleanup } = await scratchDir());
    qcow2 = await alignTo512(await makeImage(dir, 'q.qcow2', 'qcow2', '16M'));
  });
  after(() => cleanup());

  async function copy(from: string, name: string): Promise<string> {
    const path = join(dir, name);
    await copyFile(from, path);
    return path;
  }

  it('opens raw strictly as raw: a qcow2 or VMDK magic only warns, and qemu-img -f raw does not interpret it', async () => {
    const zeros = await makeImage(dir, 'zeros.raw', 'raw', '1M');
    assert.deepEqual(await checkImage(await sourceOf(zeros, 'raw'), { declaredFormat: 'raw' }), { format: 'raw', virtualSizeBytes: 2 ** 20, warnings: [] });
    const disguised = await copy(qcow2, 'disguised.raw');
    const src = await sourceOf(disguised, 'raw');
    const checked = await checkImage(src, { declaredFormat: 'raw' });
    assert.equal(checked.virtualSizeBytes, src.size);
    assert.deepEqual(checked.warnings, [
      `"disguised.raw": carries a qcow2 header but ovf:format says raw; it is opened strictly as raw (qemu-img -f raw), so the header is not interpreted and the guest sees it as data`,
    ]);
    const info = await imageInfo(src);
    assert.equal(info.format, 'raw');
    assert.equal(info.virtualSizeBytes, src.size, 'qemu-img saw the bytes, not the 16 MiB the qcow2 header claims');
    const vmdk = await makeImage(dir, 'v.vmdk', 'vmdk', '1M', 'subformat=streamOptimized');
    assert.match((await checkImage(await sourceOf(vmdk, 'raw'), { declaredFormat: 'raw' })).warnings[0]!, /carries a vmdk header but ovf:format says raw/);
  });

  it('accepts dynamic and fixed VHDs and refuses VHD differencing disks (disk type 4)', async () => {
    const dynamic = await makeImage(dir, 'd.vhd', 'vpc', '10M');
    const fixed = await makeImage(dir, 'f.vhd', 'vpc', '10M', 'subformat=fixed');
    for (const path of [dynamic, fixed]) {
      const src = await sourceOf(path, 'vpc');
      const checked = await checkImage(src, { declaredFormat: 'vpc', capacityBytes: 10 * 2 ** 20 });
      assert.equal(checked.virtualSizeBytes, (await imageInfo(src)).virtualSizeBytes);
    }
    const diffDynamic = await copy(dynamic, 'diff-d.vhd');
    const size = (await readFile(diffDynamic)).length;
    await patch(diffDynamic, 60, u32be(4)); // the footer copy at offset 0 (qemu reads this one)
    await patch(diffDynamic, size - 512 + 60, u32be(4));
    await assertRefused(await sourceOf(diffDynamic, 'vpc'), /is a VHD differencing disk \(disk type 4\): it reads its parent from another file/);
    const diffFixed = await copy(fixed, 'diff-f.vhd');
    await patch(diffFixed, (await readFile(diffFixed)).length - 512 + 60, u32be(4)); // the only footer: at the end
    await assertRefused(await sourceOf(diffFixed, 'vpc'), /VHD differencing disk \(disk type 4\)/);
    await patch(diffFixed, (await readFile(diffFixed)).length - 512 + 60, u32be(7));
    await assertRefused(await sourceOf(diffFixed, 'vpc'), /VHD of unknown disk type 7/);
  });

  it('accepts VDIs and refuses differencing or undo VDIs and VDIs naming a parent', async () => {
    const vdi = await makeImage(dir, 'x.vdi', 'vdi', '10M');
    assert.equal((await checkImage(await sourceOf(vdi, 'vdi'), { declaredFormat: 'vdi' })).virtualSizeBytes, 10 * 2 ** 20);
    await patch(await copy(vdi, 'diff.vdi'), 0x4c, Buffer.from([4, 0, 0, 0]));
    await assertRefused(await sourceOf(join(dir, 'diff.vdi'), 'vdi'), /is a VDI differencing image \(image type 4\): it reads its parent from another file/);
    await patch(await copy(vdi, 'undo.vdi'), 0x4c, Buffer.from([3, 0, 0, 0]));
    await assertRefused(await sourceOf(join(dir, 'undo.vdi'), 'vdi'), /is a VDI undo image \(image type 3\)/);
    await patch(await copy(vdi, 'link.vdi'), 0x1a8, Buffer.from('0123456789abcdef'));
    await assertRefused(await sourceOf(join(dir, 'link.vdi'), 'vdi'), /VDI that names a parent image/);
    await patch(await copy(vdi, 'huge.vdi'), 0x170, u64le(1n << 60n));
    await assertRefused(await sourceOf(join(dir, 'huge.vdi'), 'vdi'), /claims a virtual size of 1152921504606846976 bytes/);
  });

  it('accepts VHDX and refuses one whose File Parameters say HasParent', async () => {
    const vhdx = await makeImage(dir, 'x.vhdx', 'vhdx', '10M');
    const src = await sourceOf(vhdx, 'vhdx');
    assert.equal((await checkImage(src, { declaredFormat: 'vhdx' })).virtualSizeBytes, (await imageInfo(src)).virtualSizeBytes);
    const child = await copy(vhdx, 'child.vhdx');
    const bytes = await readFile(child);
    const base = bytes.indexOf('metadata', 0x30000, 'latin1'); // the metadata table's signature
    const entry = bytes.indexOf(Buffer.from('3767a1ca36fa434db3b633f0aa44e76b', 'hex'), base); // File Parameters item
    assert.ok(base > 0 && entry > base, 'found the File Parameters metadata entry');
    const item = base + bytes.readUInt32LE(entry + 16);
    const flags = Buffer.alloc(4);
    flags.writeUInt32LE(bytes.readUInt32LE(item + 4) | 2); // HasParent (bit 1)
    await patch(child, item + 4, flags);
    await assertRefused(await sourceOf(child, 'vhdx'), /is a VHDX differencing disk \(HasParent\)/);
    await assertRefused({ ...src, format: 'vdi' }, /declared vdi \(ovf:format\) but the file is vhdx/);
  });

  it('opens a two-format file strictly as declared, with a warning', async () => {
    const fixed = await makeImage(dir, 'footer.vhd', 'vpc', '1M', 'subformat=fixed');
    const footer = await readAt(fixed, (await readFile(fixed)).length - 512, 512);
    const both = join(dir, 'both.img');
    await writeFile(both, Buffer.concat([await readFile(qcow2), footer])); // a qcow2 that is also a fixed VHD
    const asQcow2 = await checkImage(await sourceOf(both, 'qcow2'), { declaredFormat: 'qcow2' });
    assert.deepEqual(asQcow2.warnings, [`"both.img": also carries a vpc header; it is opened strictly as qcow2 (qemu-img -f qcow2)`]);
    assert.equal(asQcow2.virtualSizeBytes, 16 * 2 ** 20);
    const asVpc = await checkImage(await sourceOf(both, 'vpc'), { declaredFormat: 'vpc' });
    assert.match(asVpc.warnings[0]!, /also carries a qcow2 header; it is opened strictly as vpc/);
    assert.equal((await imageInfo(await sourceOf(both, 'vpc'))).format, 'vpc');
  });

  it('refuses format confusion between vpc, vdi and vhdx', async () => {
    const vdi = await makeImage(dir, 'c.vdi', 'vdi', '1M');
    await assertRefused({ ...(await sourceOf(vdi, 'vdi')), format: 'vpc' }, /declared vpc \(ovf:format\) but the file is vdi/);
    await assertRefused({ ...(await sourceOf(qcow2, 'qcow2')), format: 'vhdx' }, /declared vhdx \(ovf:format\) but the file is qcow2/);
    const luks = join(dir, 'luks.img');
    await writeFile(luks, Buffer.concat([Buffer.from('4c554b53babe0001', 'hex'), Buffer.alloc(4096)]));
    await assertRefused(await sourceOf(luks, 'vdi'), /declared vdi \(ovf:format\) but the file is luks/);
  });

  it('refuses a FIFO, a directory or a device at once (never blocks), and a byte range past the end', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const started = Date.now();
    await assertRefused({ path: fifo, offset: 0, size: 512, format: 'raw', label: '"fifo"' }, /\/fifo is not a regular file/);
    assert.ok(Date.now() - started < 1000);
    await mkdir(join(dir, 'sub'));
    await assertRefused({ path: join(dir, 'sub'), offset: 0, size: 0, format: 'raw', label: '"sub"' }, /is not a regular file/);
    await assertRefused({ path: '/dev/zero', offset: 0, size: 512, format: 'raw', label: '"zero"' }, /\/dev\/zero is not a regular file/);
    const src = await sourceOf(qcow2, 'qcow2');
    await assertRefused({ ...src, offset: 512 }, new RegExp(`byte range \\(offset 512, ${src.size} bytes\\) runs past the end of`));
  });

  it('gives up at once when the signal is aborted, and insists that -f is the declared format', async () => {
    const src = await sourceOf(qcow2, 'qcow2');
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await assert.rejects(checkImage(src, { declaredFormat: 'qcow2', signal: ac.signal }), /stop/);
    await assert.rejects(checkImage(src, { declaredFormat: 'vmdk' }), /declared vmdk but qemu-img would get -f qcow2/);
    const calls = qemuLog.calls();
    assert.ok(calls.length > 0, 'qemu-img ran in this file');
    assert.ok(calls.every((argv) => argv.includes('-f')), calls.map((a) => a.join(' ')).join('\n'));
  });
});
