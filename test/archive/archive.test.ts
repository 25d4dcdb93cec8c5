// openArchive on real OVA tar files and OVF directories built in a temporary directory.

import assert from 'node:assert/strict';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FileError, PackageError } from '../../src/errors.js';
import { openArchive } from '../../src/archive/archive.js';
import { collect, makeTar, pseudoRandom, readAt, withTempDir } from './helpers.js';

const descriptor = Buffer.from('<?xml version="1.0"?>\n<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"/>\n');
const disk = pseudoRandom(300_000, 7);

/** Writes vm.ovf, vm.mf and disk1.vmdk into `dir`. */
async function writePackage(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'vm.ovf'), descriptor);
  await writeFile(join(dir, 'vm.mf'), 'SHA256(disk1.vmdk)= 00\n');
  await writeFile(join(dir, 'disk1.vmdk'), disk);
}

/** Asserts that `promise` (or `fn`) fails with a PackageError whose message matches. */
async function assertPackageError(work: Promise<unknown> | (() => unknown), message: RegExp, file?: string): Promise<void> {
  const check = (err: unknown): boolean => {
    assert.ok(err instanceof PackageError, `expected PackageError, got ${String(err)}`);
    assert.match(err.message, message);
    if (file !== undefined) assert.equal(err.file, file);
    return true;
  };
  if (typeof work === 'function') assert.throws(work, check);
  else await assert.rejects(work, check);
}

describe('openArchive: OVA', () => {
  it('opens an OVA whose .ovf is first, detected by content, and reads members in place', async () => {
    await withTempDir(async (dir) => {
      await writePackage(join(dir, 'src'));
      const ova = join(dir, 'appliance.bin'); // no .ova extension: detection is by content
      makeTar(ova, join(dir, 'src'), ['vm.ovf', 'vm.mf', 'disk1.vmdk'], 'ustar');
      const archive = await openArchive(ova);
      assert.equal(archive.kind, 'ova');
      assert.equal(archive.source, ova);
      assert.equal(archive.descriptorName, 'vm.ovf');
      assert.equal(archive.directory, undefined);
      assert.ok((await archive.readDescriptor()).equals(descriptor));
      assert.deepEqual(archive.entries().map((e) => e.name), ['vm.ovf', 'vm.mf', 'disk1.vmdk']);
      assert.deepEqual(archive.find('./disk1.vmdk'), { name: 'disk1.vmdk', size: disk.length });
      assert.equal(archive.find('missing.vmdk'), undefined);
      const range = archive.locate('disk1.vmdk');
      assert.equal(range.path, ova);
      assert.ok((await readAt(ova, range.offset, range.size)).equals(disk));
      assert.ok((await collect(archive.createReadStream('disk1.vmdk'))).equals(disk));
      await assertPackageError(archive.readSmall('disk1.vmdk', 1000), /larger than the 1000-byte limit/, 'disk1.vmdk');
      await assertPackageError(() => archive.locate('missing.vmdk'), /no member named "missing\.vmdk"$/, 'missing.vmdk');
      await assertPackageError(() => archive.find('http://example.com/disk1.vmdk'), /is a URL/, 'http://example.com/disk1.vmdk');
    });
  });

  it('accepts the descriptor elsewhere than first, and "./" member names', async () => {
    await withTempDir(async (dir) => {
      await writePackage(join(dir, 'src'));
      const ova = join(dir, 'late.ova');
      makeTar(ova, join(dir, 'src'), ['./disk1.vmdk', './vm.ovf'], 'pax');
      const archive = await openArchive(ova);
      assert.equal(archive.descriptorName, 'vm.ovf');
      assert.ok((await archive.readSmall('vm.ovf')).equals(descriptor));
      assert.equal(archive.find('disk1.vmdk')?.size, disk.length);
    });
  });

  it('fails without a top-level .ovf, with several, and on a non-tar .ova', async () => {
    await withTempDir(async (dir) => {
      const src = join(dir, 'src');
      await writePackage(src);
      await writeFile(join(src, 'other.ovf'), descriptor);
      await mkdir(join(src, 'nested'));
      await writeFile(join(src, 'nested', 'deep.ovf'), descriptor);
      const none = join(dir, 'none.ova');
      makeTar(none, src, ['disk1.vmdk'], 'ustar');
      await assertPackageError(openArchive(none), /holds no \.ovf descriptor/, none);
      const nestedOnly = join(dir, 'nested.ova');
      makeTar(nestedOnly, src, ['nested', 'disk1.vmdk'], 'ustar');
      await assertPackageError(openArchive(nestedOnly), /no \.ovf descriptor at the top level.*nested\/deep\.ovf/, nestedOnly);
      const two = join(dir, 'two.ova');
      makeTar(two, src, ['vm.ovf', 'other.ovf', 'disk1.vmdk'], 'ustar');
      await assertPackageError(openArchive(two), /2 \.ovf descriptors \(vm\.ovf, other\.ovf\)/, two);
      const notOva = join(dir, 'not-a-tar.ova');
      await writeFile(notOva, disk);
      await assertPackageError(openArchive(notOva), /not a tar archive/, notOva);
      const absent = join(dir, 'absent.ova');
      await assert.rejects(openArchive(absent), (err: unknown) => err instanceof FileError && err.exitCode === 2 && err.errno === 'ENOENT' && err.path === absent && err.message === `cannot open ${absent}: it does not exist; give the path of an OVA, an .ovf descriptor or a directory holding one`);
    });
  });
});

describe('openArchive: OVF directory', () => {
  it('opens a directory with one .ovf and finds files beside it, in subdirectories too', async () => {
    await withTempDir(async (dir) => {
      const pkg = join(dir, 'pkg');
      await writePackage(pkg);
      await mkdir(join(pkg, 'disks'));
      await writeFile(join(pkg, 'disks', 'a.vmdk'), disk.subarray(0, 1234));
      for (const source of [pkg, join(pkg, 'vm.ovf')]) {
        const archive = await openArchive(source);
        assert.equal(archive.kind, 'ovf');
        assert.equal(archive.source, join(pkg, 'vm.ovf'));
        assert.equal(archive.descriptorName, 'vm.ovf');
        assert.equal(archive.directory, pkg);
        assert.ok((await archive.readDescriptor()).equals(descriptor));
        assert.deepEqual(archive.entries(), [
          { name: 'disk1.vmdk', size: disk.length },
          { name: 'disks/a.vmdk', size: 1234 },
          { name: 'vm.mf', size: 23 },
          { name: 'vm.ovf', size: descriptor.length },
        ]);
        assert.deepEqual(archive.locate('disks/a.vmdk'), { path: join(pkg, 'disks', 'a.vmdk'), offset: 0, size: 1234 });
        assert.ok((await collect(archive.createReadStream('disk1.vmdk'))).equals(disk));
        assert.equal(archive.find('disks'), undefined, 'a directory is not a file');
        assert.equal(archive.find('nope.vmdk'), undefined);
        await assertPackageError(() => archive.locate('nope.vmdk'), /no file named "nope\.vmdk" in /, 'nope.vmdk');
        for (const href of ['/etc/passwd', 'file:///etc/passwd', 'http://example.com/a.vmdk', 'C:\\disk.vmdk']) {
          await assertPackageError(() => archive.find(href), /absolute path|is a URL/, href);
        }
      }
    });
  });

  it('fails on a directory with two .ovf files (listing them) or none', async () => {
    await withTempDir(async (dir) => {
      const pkg = join(dir, 'pkg');
      await writePackage(pkg);
      await writeFile(join(pkg, 'second.ovf'), descriptor);
      await assertPackageError(openArchive(pkg), /2 \.ovf descriptors \(second\.ovf, vm\.ovf\)/, pkg);
      await rename(join(pkg, 'second.ovf'), join(pkg, 'second.txt'));
      await rename(join(pkg, 'vm.ovf'), join(pkg, 'vm.txt'));
      await assertPackageError(openArchive(pkg), /no \.ovf descriptor/, pkg);
    });
  });
});
