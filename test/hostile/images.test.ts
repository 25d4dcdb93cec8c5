// Hostile disk images, end to end (issue 4, hostile input 1-4; issue 9, item 8): VMDK descriptors
// and extents that name host files, backing and data files, format confusion, absurd virtual
// sizes, grain directories and L1 tables that point beyond the image.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { chmod, open, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensureDefaultNetwork } from '../commands/helpers.js';
import { assertQemuCalls, assertRefused, dropImport } from './checks.js';
import { baseFiles, FMT, packOva, setUp, tearDown, watch, type Scene } from './kit.js';
import { importPkg } from './run.js';

/** A copy of the VMDK at `path` whose embedded descriptor (sparse header fields descriptorOffset/Size, sectors) is `edit`ed in place. */
async function withEmbeddedDescriptor(path: string, edit: (text: string) => string): Promise<Buffer> {
  const bytes = await readFile(path);
  const [offset, sectors] = [Number(bytes.readBigUInt64LE(28)) * 512, Number(bytes.readBigUInt64LE(36)) * 512];
  const area = bytes.subarray(offset, offset + sectors);
  const nul = area.indexOf(0);
  const text = area.toString('latin1', 0, nul < 0 ? area.length : nul);
  const edited = Buffer.from(edit(text), 'latin1');
  assert.notEqual(edited.toString('latin1'), text, 'embedded descriptor edit applied');
  assert.ok(edited.length <= area.length, 'edited descriptor fits its area');
  area.fill(0);
  edited.copy(area);
  return bytes;
}

/** A VMDK text descriptor (the kind qemu follows to other files). */
function textDescriptor(createType: string, extent: string): string {
  return `# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="${createType}"\n\n# Extent description\n${extent}\n\nddb.adapterType = "ide"\n`;
}

describe('hostile disk images are refused before qemu-img opens them', () => {
  let s: Scene;
  let qcow2: string;

  before(async () => {
    s = await setUp('images');
    await ensureDefaultNetwork();
    await watch(s, join(s.work, 'x'));
    qcow2 = join(s.work, 'guest.qcow2');
    await execa('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', s.base.rawDisk, qcow2]);
  });
  after(() => tearDown(s));

  /** Runs the import of `files` (with --start when asked) and asserts a refusal before conversion. */
  async function refused(label: string, files: ReturnType<typeof baseFiles>, message: RegExp[], extra: { start?: boolean; qemu?: 'none' | 'no-convert' } = {}) {
    const ova = await packOva(s, label, files);
    const run = await importPkg(s, ova, { args: extra.start ? ['--start'] : [] });
    await assertRefused(s, run, { code: 3, message, qemu: extra.qemu ?? 'none', absent: [join(s.work, 'x')] });
    return run;
  }

  test('1. a VMDK text descriptor with a FLAT extent on /etc/shadow', async () => {
    await refused('flat-shadow', baseFiles(s, {}, textDescriptor('monolithicFlat', 'RW 8 FLAT "/etc/shadow" 0')), [
      /"app-disk1\.vmdk" in \S+flat-shadow\.ova: is a VMDK text descriptor \(# Disk DescriptorFile\)/,
      /only self-contained streamOptimized or monolithicSparse VMDKs are accepted/,
    ], { start: true });
  });

  test('1. a VMDK text descriptor with a FLAT extent on "../x"', async () => {
    await refused('flat-dotdot', baseFiles(s, {}, textDescriptor('monolithicFlat', 'RW 8 FLAT "../x" 0')), [/"app-disk1\.vmdk" in .*: is a VMDK text descriptor/]);
  });

  test('1. monolithicFlat from qemu-img create (descriptor + -flat extent)', async () => {
    await execa('qemu-img', ['create', '-q', '-f', 'vmdk', '-o', 'subformat=monolithicFlat', join(s.work, 'mf.vmdk'), '1M']);
    const files = { ...baseFiles(s, { href: 'mf.vmdk' }, { copy: join(s.work, 'mf.vmdk') }), 'mf-flat.vmdk': { copy: join(s.work, 'mf-flat.vmdk') } };
    await refused('monoflat', files, [/"mf\.vmdk" in .*: is a VMDK text descriptor/]);
  });

  test('1. twoGbMaxExtentSparse from qemu-img create: the descriptor, and the bare -s001 extent (empty embedded descriptor)', async () => {
    await execa('qemu-img', ['create', '-q', '-f', 'vmdk', '-o', 'subformat=twoGbMaxExtentSparse', join(s.work, 'tg.vmdk'), '1M']);
    const extent = { copy: join(s.work, 'tg-s001.vmdk') };
    await refused('twogb', { ...baseFiles(s, { href: 'tg.vmdk' }, { copy: join(s.work, 'tg.vmdk') }), 'tg-s001.vmdk': extent }, [/"tg\.vmdk" in .*: is a VMDK text descriptor/]);
    await refused('twogb-extent', baseFiles(s, { href: 'tg-s001.vmdk' }, extent), [
      /"tg-s001\.vmdk" in .*: is a VMDK of createType "\(none\)"; only self-contained streamOptimized and monolithicSparse VMDKs are accepted/,
    ]);
  });

  test('1. a sparse VMDK whose embedded descriptor points its extent at /etc/shadow', async () => {
    const vmdk = await withEmbeddedDescriptor(s.base.vmdk, (t) => t.replace('RW 2048 SPARSE "app-disk1.vmdk"', 'RW 8 FLAT "/etc/shadow" 0'));
    await refused('embedded-flat', baseFiles(s, {}, vmdk), [/"app-disk1\.vmdk" in .*: is a streamOptimized VMDK whose extent is FLAT \(RW 8 FLAT "\/etc\/shadow" 0\), not SPARSE/]);
  });

  test('1. a sparse VMDK whose embedded descriptor says twoGbMaxExtentSparse with an extent "../x"', async () => {
    const vmdk = await withEmbeddedDescriptor(s.base.vmdk, (t) => t.replace('"streamOptimized"', '"twoGbMaxExtentSparse"').replace('"app-disk1.vmdk"', '"../x"'));
    await refused('embedded-twogb', baseFiles(s, {}, vmdk), [/"app-disk1\.vmdk" in .*: is a VMDK of createType "twoGbMaxExtentSparse"/]);
  });

  test('2. a qcow2 with a backing file (-b /etc/passwd -F raw)', async () => {
    const path = join(s.work, 'backed.qcow2');
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', '/etc/passwd', '-F', 'raw', path, '1M']);
    await refused('backing', baseFiles(s, { href: 'backed.qcow2', format: FMT.qcow2 }, { copy: path }), [
      /"backed\.qcow2" in .*: is a qcow2 with a backing file "\/etc\/passwd" \(backing_file_offset \d+, backing_file_size 11\); a disk must be self-contained/,
    ], { start: true });
  });

  test('2. a VMDK with a parentFileNameHint in its embedded descriptor', async () => {
    const vmdk = await withEmbeddedDescriptor(s.base.vmdk, (t) => t.replace('parentCID=ffffffff\n', 'parentCID=ffffffff\nparentFileNameHint="/etc/passwd"\n'));
    await refused('parenthint', baseFiles(s, {}, vmdk), [/"app-disk1\.vmdk" in .*: is a VMDK with a parentFileNameHint: a delta disk that reads its parent from another file/]);
  });

  test('2. a qcow2 with an external data_file (the named file is left untouched)', async () => {
    const data = join(s.work, 'data-file-target.raw');
    const path = join(s.work, 'datafile.qcow2');
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', `data_file=${data}`, path, '1M']);
    await writeFile(data, Buffer.alloc(1024 * 1024, 0x5a));
    await watch(s, data);
    await refused('datafile', baseFiles(s, { href: 'datafile.qcow2', format: FMT.qcow2 }, { copy: path }), [
      /"datafile\.qcow2" in .*: is a qcow2 with an external data file \(incompatible_features bit 2\); a disk must be self-contained/,
    ]);
  });

  test('3. ovf:format says vmdk but the file is qcow2', async () => {
    await refused('confused', baseFiles(s, {}, { copy: qcow2 }), [/"app-disk1\.vmdk" in .*: declared vmdk \(ovf:format\) but the file is qcow2; refused before qemu-img opens it/]);
  });

  for (const converter of ['qemu-img', 'auto'] as const) {
    test(`3. a raw disk that starts with a qcow2 magic is imported strictly as raw, with a warning (--converter ${converter})`, async () => {
      const { size } = await stat(qcow2);
      assert.equal(size % 512, 0);
      const ova = await packOva(s, `raw-magic-${converter}`, baseFiles(s, { href: 'disk.raw', format: FMT.raw, capacity: size, populatedSize: size }, { copy: qcow2 }));
      const run = await importPkg(s, ova, { args: ['--converter', converter] });
      try {
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stderr, /warning: "disk\.raw" in .*: carries a qcow2 header but ovf:format says raw; it is opened strictly as raw \(qemu-img -f raw\)/);
        // qemu-img reads it with -f raw only; streamed, no qemu-img reads it at all (the bytes are copied as they are).
        if (converter === 'qemu-img') assert.ok(run.qemu.length >= 2 && run.qemu.every((a) => a[a.indexOf('-f') + 1] === 'raw'), JSON.stringify(run.qemu));
        else assert.deepEqual(run.qemu, [], 'qemu-img read the streamed raw disk');
        assertQemuCalls(s, run);
        const vol = join(s.pool.path, `${run.name}-vmdisk1.qcow2`);
        const out = join(s.work, 'tmp', run.name, 'volume.raw');
        await execa('qemu-img', ['convert', '-q', '-f', 'qcow2', '-O', 'raw', vol, out]);
        const [guest, file] = [await readFile(out), await readFile(qcow2)];
        assert.equal(guest.length, size, 'the volume is as large as the raw file');
        assert.ok(guest.subarray(0, 4096).equals(file.subarray(0, 4096)), 'the guest sees the qcow2 header bytes as data');
        assert.equal(guest.toString('latin1', 0, 4), 'QFI\xfb');
      } finally {
        await dropImport(s, run);
      }
    });
  }

  test('3. a qcow2 that is also a VHD (conectix footer) is opened strictly as the declared qcow2', async () => {
    const footer = Buffer.alloc(512);
    footer.write('conectix', 0, 'latin1');
    const polyglot = Buffer.concat([await readFile(qcow2), footer]);
    const ova = await packOva(s, 'polyglot', baseFiles(s, { href: 'poly.qcow2', format: FMT.qcow2 }, polyglot));
    const run = await importPkg(s, ova);
    try {
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /warning: "poly\.qcow2" in .*: also carries a vpc header; it is opened strictly as qcow2 \(qemu-img -f qcow2\)/);
      assert.ok(run.qemu.every((a) => a[a.indexOf('-f') + 1] === 'qcow2'), JSON.stringify(run.qemu));
      assertQemuCalls(s, run);
      const out = join(s.work, 'tmp', run.name, 'volume.raw');
      await execa('qemu-img', ['convert', '-q', '-f', 'qcow2', '-O', 'raw', join(s.pool.path, `${run.name}-vmdisk1.qcow2`), out]);
      const guest = await readFile(out);
      assert.ok(guest.subarray(0, 512).equals((await readFile(s.base.rawDisk)).subarray(0, 512)), 'the guest sees the qcow2 contents (boot sector)');
    } finally {
      await dropImport(s, run);
    }
  });

  /** The differential: the system qemu-img converts `bytes` (-f `format`) with exit 0, to a disk that is not the appliance's. */
  async function qemuWouldLoseData(name: string, format: string, bytes: Buffer): Promise<void> {
    const [path, out] = [join(s.work, name), join(s.work, `${name}.raw`)];
    await writeFile(path, bytes);
    const convert = await execa('qemu-img', ['convert', '-q', '-f', format, '-O', 'raw', path, out], { reject: false });
    assert.equal(convert.exitCode, 0, `qemu-img convert refused it by itself: ${convert.stderr}`);
    const compare = await execa('qemu-img', ['compare', '-q', '-f', 'raw', '-F', 'raw', s.base.rawDisk, out], { reject: false });
    assert.equal(compare.exitCode, 1, 'qemu-img kept the data: the corruption missed');
  }

  test('8. a streamOptimized VMDK whose grain directory points beyond the member (qemu-img: all zeros, exit 0)', async () => {
    const vmdk = await readFile(s.base.vmdk);
    vmdk.writeUInt32LE(0x7fffff00, Number(vmdk.readBigUInt64LE(56)) * 512); // grain directory entry 0
    await qemuWouldLoseData('gd-far.vmdk', 'vmdk', vmdk);
    await refused('gd-far', baseFiles(s, {}, vmdk), [
      /"app-disk1\.vmdk" in \S+gd-far\.ova: grain directory entry 0 points to sector 2147483392, beyond the end of the image \(\d+ sectors\); refused before qemu-img opens it/,
    ], { start: true });
  });

  test('8. a qcow2 whose L1 entry points beyond the member (qemu-img: all zeros, exit 0)', async () => {
    const bytes = await readFile(qcow2);
    bytes.writeBigUInt64BE((1n << 63n) | (1n << 40n), Number(bytes.readBigUInt64BE(40))); // L1 entry 0
    await qemuWouldLoseData('l1-far.qcow2', 'qcow2', bytes);
    await refused('l1-far', baseFiles(s, { href: 'far.qcow2', format: FMT.qcow2 }, bytes), [
      /"far\.qcow2" in \S+l1-far\.ova: L1 table entry 0 points to an L2 table at offset 1099511627776, beyond the end of the image \(\d+ bytes\); refused before qemu-img opens it/,
    ]);
  });

  test('4. a qemu-img info that hangs is killed after its time limit: exit 5, a clear error, nothing left', async () => {
    const hang = join(s.work, 'qemu-img-hangs');
    await writeFile(hang, `#!/bin/sh\nif [ "$1" = info ]; then exec sleep 29.317; fi\nexec ${s.wrapper} "$@"\n`);
    await chmod(hang, 0o755);
    const ova = await packOva(s, 'hang', baseFiles(s));
    // qemu-img is the converter here: the streaming decoder never runs qemu-img info on a streamOptimized VMDK.
    const run = await importPkg(s, ova, { args: ['--converter', 'qemu-img'], env: { VIRT_OVF_QEMU_IMG: hang, VIRT_OVF_QEMU_IMG_TIMEOUT_MS: '1500' } });
    await assertRefused(s, run, {
      code: 5,
      message: [/virt-ovf: error: qemu-img info on "app-disk1\.vmdk" in \S+hang\.ova timed out after 1500 ms and was killed \(a hostile or unreadable image\?\)/],
      qemu: 'any',
      maxMs: 15_000,
    });
    assert.ok(!(await execa('ps', ['-eo', 'args'])).stdout.includes('sleep 29.317'), 'the hung qemu-img is still running');
  });

  test('4. a tiny qcow2 whose header claims 2^60 bytes', async () => {
    const path = join(s.work, 'huge.qcow2');
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', path, '1M']);
    const fh = await open(path, 'r+');
    const size = Buffer.alloc(8);
    size.writeBigUInt64BE(2n ** 60n);
    await fh.write(size, 0, 8, 24);
    await fh.close();
    assert.ok((await stat(path)).size < 1024 * 1024);
    await refused('huge', baseFiles(s, { href: 'huge.qcow2', format: FMT.qcow2, capacity: 1024 * 1024 }, { copy: path }), [
      /"huge\.qcow2" in .*: its header claims a virtual size of 1152921504606846976 bytes \(1\.0 EiB\), above the limit of 1125899906842624 bytes \(1\.0 PiB\)/,
    ]);
  });
});
