// Hostile and honest VMDKs, made by the real qemu-img and hand-edited, against checkImage (issue 4, cases 1-3).

import assert from 'node:assert/strict';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkImage } from '../../src/storage/image-check.js';
import { imageInfo } from '../../src/storage/qemu-img.js';
import { assertRefused, editVmdkDescriptor, embed, makeImage, patch, qemuImg, scratchDir, sourceOf, u64le } from './helpers.js';
import { logQemuImg } from './qemu-img-log.js';

/** Every qemu-img run of this file, seen through a logging wrapper first in PATH. */
const qemuLog = logQemuImg();

const SHADOW = 'RW 8 FLAT "/etc/shadow" 0';

describe('checkImage on VMDKs', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let sparse: string; // monolithicSparse, 10 MiB
  let stream: string; // streamOptimized, 10 MiB

  before(async () => {
    ({ dir, cleanup } = await scratchDir());
    sparse = await makeImage(dir, 'sparse.vmdk', 'vmdk', '10M', 'subformat=monolithicSparse');
    stream = await makeImage(dir, 'stream.vmdk', 'vmdk', '10M', 'subformat=streamOptimized');
  });
  after(() => cleanup());

  /** A copy of `from` named `name`, its embedded descriptor edited by `edit`. */
  async function variant(from: string, name: string, edit: (text: string) => string): Promise<string> {
    const path = join(dir, name);
    await copyFile(from, path);
    await editVmdkDescriptor(path, edit);
    return path;
  }

  it('accepts self-contained monolithicSparse and streamOptimized VMDKs, also inside a larger file, and agrees with qemu-img on the size', async () => {
    for (const path of [sparse, stream]) {
      const src = await sourceOf(path, 'vmdk');
      const checked = await checkImage(src, { declaredFormat: 'vmdk', capacityBytes: 10 * 2 ** 20 });
      assert.deepEqual(checked, { format: 'vmdk', virtualSizeBytes: 10 * 2 ** 20, warnings: [] });
      const inner = await embed(path, dir, `outer-${src.label!.slice(1, -1)}`, 'vmdk');
      assert.equal((await checkImage(inner, { declaredFormat: 'vmdk' })).virtualSizeBytes, 10 * 2 ** 20);
      assert.equal((await imageInfo(inner)).virtualSizeBytes, checked.virtualSizeBytes);
    }
  });

  it('refuses text descriptors: monolithicFlat, twoGbMaxExtentSparse, twoGbMaxExtentFlat', async () => {
    for (const subformat of ['monolithicFlat', 'twoGbMaxExtentSparse', 'twoGbMaxExtentFlat']) {
      const path = await makeImage(dir, `${subformat}.vmdk`, 'vmdk', '10M', `subformat=${subformat}`);
      await assertRefused(await sourceOf(path, 'vmdk'), /is a VMDK text descriptor \(# Disk DescriptorFile\): it can only point at other files/);
    }
  });

  it('refuses a sparse extent of a twoGbMaxExtentSparse disk taken on its own', async () => {
    await makeImage(dir, 'split.vmdk', 'vmdk', '10M', 'subformat=twoGbMaxExtentSparse');
    await assertRefused(await sourceOf(join(dir, 'split-s001.vmdk'), 'vmdk'), /createType "\(none\)"; only self-contained streamOptimized and monolithicSparse/);
  });

  it('refuses an extra extent pointing at a host file in an embedded descriptor', async () => {
    for (const [from, name] of [[sparse, 'sparse'], [stream, 'stream']] as const) {
      const path = await variant(from, `${name}-shadow.vmdk`, (t) => t.replace(/^(RW \d+ SPARSE .*)$/m, `$1\n${SHADOW}`));
      const err = await assertRefused(await sourceOf(path, 'vmdk'), /VMDK with 2 extents \(RW 20480 SPARSE "[^"]+"; RW 8 FLAT "\/etc\/shadow" 0\); a self-contained VMDK has exactly one SPARSE extent/);
      assert.equal(err.file, `"${name}-shadow.vmdk"`);
    }
  });

  it('refuses a single extent that is FLAT, or names /etc/shadow, ../x or a sub-directory', async () => {
    const cases: [string, RegExp][] = [
      ['RW 20480 FLAT "/etc/shadow" 0', /whose extent is FLAT \(RW 20480 FLAT "\/etc\/shadow" 0\), not SPARSE/],
      ['RW 20480 SPARSE "/etc/shadow"', /whose extent names "\/etc\/shadow", not the image's own file name/],
      ['RW 20480 SPARSE "../x"', /whose extent names "\.\.\/x"/],
      ['RW 20480 SPARSE "sub/x.vmdk"', /whose extent names "sub\/x\.vmdk"/],
      ['RW 20480 SPARSE ".."', /whose extent names "\.\."/],
      ['RW 20480 VMFS "x.vmdk"', /whose extent is VMFS/],
      ['RW 40960 SPARSE "sparse.vmdk"', /extent has 40960 sectors but whose header says 20480/],
    ];
    for (const [i, [line, pattern]] of cases.entries()) {
      const path = await variant(sparse, `single-${i}.vmdk`, (t) => t.replace(/^RW \d+ SPARSE .*$/m, line));
      await assertRefused(await sourceOf(path, 'vmdk'), pattern);
    }
  });

  it('refuses other create types written into an embedded descriptor', async () => {
    for (const type of ['twoGbMaxExtentSparse', 'monolithicFlat', 'vmfs', 'vmfsSparse', 'seSparse', 'custom']) {
      const path = await variant(stream, `type-${type}.vmdk`, (t) => t.replace(/createType="[^"]*"/, `createType="${type}"`));
      await assertRefused(await sourceOf(path, 'vmdk'), new RegExp(`VMDK of createType "${type}"; only self-contained`));
    }
  });

  it('refuses a parentFileNameHint or a parentCID other than ffffffff (delta disks)', async () => {
    const hint = await variant(sparse, 'hint.vmdk', (t) => t.replace(/^(parentCID=.*)$/m, '$1\nparentFileNameHint="/etc/passwd"'));
    await assertRefused(await sourceOf(hint, 'vmdk'), /VMDK with a parentFileNameHint: a delta disk/);
    const inComment = await variant(sparse, 'hint-comment.vmdk', (t) => `${t}# parentFileNameHint="base.vmdk"\n`);
    await assertRefused(await sourceOf(inComment, 'vmdk'), /parentFileNameHint/); // qemu's strstr() finds it in a comment too
    const cid = await variant(sparse, 'cid.vmdk', (t) => t.replace(/^parentCID=.*$/m, 'parentCID=1234abcd'));
    await assertRefused(await sourceOf(cid, 'vmdk'), /VMDK with parentCID 1234abcd: a delta disk/);
  });

  it('refuses unrecognised and duplicate descriptor lines', async () => {
    const junk = await variant(sparse, 'junk.vmdk', (t) => t.replace(/^(RW \d+ SPARSE .*)$/m, `$1\n${SHADOW} trailing`));
    await assertRefused(await sourceOf(junk, 'vmdk'), /an unrecognised line in its embedded descriptor: "RW 8 FLAT \\"\/etc\/shadow\\" 0 trailing"/);
    const dup = await variant(sparse, 'dup.vmdk', (t) => `${t}createType="monolithicFlat"\n`);
    await assertRefused(await sourceOf(dup, 'vmdk'), /a duplicate line in its embedded descriptor: "createType=\\"monolithicFlat\\""/);
  });

  it('refuses a sparse header with capacity 0, which makes qemu follow the embedded extents to host files', async () => {
    const path = await variant(sparse, 'cap0.vmdk', () => '# Disk DescriptorFile\nversion=1\nCID=1\nparentCID=ffffffff\ncreateType="monolithicFlat"\nRW 8 FLAT "/etc/hostname" 0\n');
    await patch(path, 12, u64le(0n));
    // The threat is real: the system qemu-img, told -f vmdk, opens /etc/hostname as the disk.
    assert.match(await qemuImg('info', '-f', 'vmdk', path), /filename: \/etc\/hostname/);
    await assertRefused(await sourceOf(path, 'vmdk'), /VMDK sparse header with capacity 0, which makes qemu open the extents its embedded descriptor names/);
  });

  it('refuses an embedded descriptor beyond the end of the byte range, and an absurd descriptor size', async () => {
    const far = join(dir, 'far.vmdk');
    await copyFile(sparse, far);
    await patch(far, 28, u64le(1000n));
    await assertRefused(await sourceOf(far, 'vmdk'), /embedded descriptor \(sector 1000, 20 sectors\) too large or past the end/);
    await patch(far, 28, u64le(1n));
    await patch(far, 36, u64le(1n << 40n));
    await assertRefused(await sourceOf(far, 'vmdk'), /embedded descriptor \(sector 1, 1099511627776 sectors\) too large/);
  });

  it('refuses a VMDK whose header claims 2^60 bytes, or far more than ovf:capacity', async () => {
    const huge = await variant(sparse, 'huge.vmdk', (t) => t.replace(/^RW \d+ SPARSE/m, `RW ${2 ** 51} SPARSE`));
    await patch(huge, 12, u64le(2n ** 51n));
    await assertRefused(await sourceOf(huge, 'vmdk'), /claims a virtual size of 1152921504606846976 bytes \(1\.0 EiB\), above the limit of 1125899906842624 bytes \(1\.0 PiB\)/);
    await assertRefused(await sourceOf(sparse, 'vmdk'), /more than 64 times the 65536 bytes \(64\.0 KiB\) the descriptor declares/, { capacityBytes: 65536 });
  });

  it('refuses format confusion: declared vmdk but the bytes are qcow2, raw zeros or too short', async () => {
    const qcow2 = await makeImage(dir, 'really-qcow2.vmdk', 'qcow2', '10M');
    await assertRefused({ ...(await sourceOf(qcow2, 'qcow2')), format: 'vmdk' }, /declared vmdk \(ovf:format\) but the file is qcow2; refused/);
    const raw = await makeImage(dir, 'zeros.vmdk', 'raw', '1M');
    await assertRefused(await sourceOf(raw, 'vmdk'), /declared vmdk \(ovf:format\) but the file is not vmdk \(no known header; it begins 0000000000000000\)/);
    const empty = await makeImage(dir, 'empty.vmdk', 'raw', '0');
    await assertRefused(await sourceOf(empty, 'vmdk'), /but the file is not vmdk \(no known header; it begins with nothing\)/);
    const calls = qemuLog.calls();
    assert.ok(calls.length > 0, 'qemu-img ran in this file');
    assert.ok(calls.every((argv) => argv.includes('-f')), calls.map((a) => a.join(' ')).join('\n'));
  });
});
