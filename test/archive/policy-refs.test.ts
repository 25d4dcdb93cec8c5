// References against the package (issue 4, case 6), case-only name differences, and
// directory packages whose hrefs leave the directory or pass through symbolic links.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PackageError } from '../../src/errors.js';
import { openArchive } from '../../src/archive/archive.js';
import { checkReferences, describeMissing } from '../../src/archive/policy.js';
import { makeTar, withTempDir } from './helpers.js';

/** Asserts that `fn` throws a PackageError whose file is `file` and message matches. */
function assertRefused(fn: () => unknown, file: string, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof PackageError, `expected PackageError, got ${String(err)}`);
    assert.equal(err.file, file);
    assert.match(err.message, message);
    return true;
  });
}

/** A package directory `dir/pkg` with vm.ovf, disk1.vmdk and sub/disk2.vmdk, plus its OVA. */
async function makePackage(dir: string): Promise<{ pkg: string; ova: string }> {
  const pkg = join(dir, 'pkg');
  await mkdir(join(pkg, 'sub'), { recursive: true });
  await writeFile(join(pkg, 'vm.ovf'), '<Envelope/>\n');
  await writeFile(join(pkg, 'disk1.vmdk'), 'disk one\n');
  await writeFile(join(pkg, 'sub', 'disk2.vmdk'), 'disk two\n');
  await writeFile(join(pkg, 'big.iso.000000000'), 'chunk 0\n');
  const ova = join(dir, 'vm.ova');
  makeTar(ova, pkg, ['vm.ovf', 'disk1.vmdk', 'sub/disk2.vmdk', 'big.iso.000000000'], 'ustar');
  return { pkg, ova };
}

describe('checkReferences', () => {
  it('accepts present files (chunked ones by their first chunk) in an OVA and a directory', async () => {
    await withTempDir(async (dir) => {
      const { pkg, ova } = await makePackage(dir);
      const refs = [
        { id: 'f1', href: 'disk1.vmdk' },
        { id: 'f2', href: './sub/disk2.vmdk' },
        { id: 'f3', href: 'big.iso', chunkSizeBytes: 8 },
      ];
      for (const archive of [await openArchive(ova), await openArchive(pkg)]) assert.deepEqual(checkReferences(refs, archive), []);
    });
  });

  it('refuses URLs, absolute paths and ".." hrefs, naming the File', async () => {
    await withTempDir(async (dir) => {
      const { pkg, ova } = await makePackage(dir);
      for (const archive of [await openArchive(ova), await openArchive(pkg)]) {
        for (const [href, why] of [
          ['http://example.com/disk1.vmdk', /is a URL \(scheme "http:"\)/],
          ['file:///etc/passwd', /is a URL \(scheme "file:"\)/],
          ['/etc/passwd', /absolute path/],
          ['sub/../../x', /"\.\." path step/],
          ['C:\\disk1.vmdk', /Windows drive/],
          ['disk1.vmdk\u0000', /control character U\+0000/],
        ] as const) {
          assertRefused(() => checkReferences([{ id: 'd', href }], archive), href, new RegExp(`References/File "d": ovf:href .*${why.source}`));
        }
      }
    });
  });

  it('refuses duplicate hrefs (also "./x" against "x") and duplicate ids', async () => {
    await withTempDir(async (dir) => {
      const archive = await openArchive((await makePackage(dir)).ova);
      assertRefused(
        () => checkReferences([{ id: 'a', href: 'disk1.vmdk' }, { id: 'b', href: './disk1.vmdk' }], archive),
        './disk1.vmdk',
        /References\/File "b" and References\/File "a" both have ovf:href "disk1\.vmdk"/,
      );
      assertRefused(() => checkReferences([{ id: 'a', href: 'disk1.vmdk' }, { id: 'a', href: 'sub/disk2.vmdk' }], archive), 'sub/disk2.vmdk', /two References\/File elements have ovf:id "a"/);
    });
  });

  it('refuses missing files, or returns them as warnings in descriptor-only mode', async () => {
    await withTempDir(async (dir) => {
      const archive = await openArchive((await makePackage(dir)).ova);
      const refs = [{ id: 'gone', href: 'gone.vmdk' }];
      assertRefused(() => checkReferences(refs, archive), 'gone.vmdk', /no member named "gone\.vmdk"; References\/File "gone" references it/);
      assert.deepEqual(checkReferences(refs, archive, { descriptorOnly: true }), [`${archive.source}: no member named "gone.vmdk"; References/File "gone" references it`]);
      assertRefused(() => checkReferences([{ id: 'c', href: 'other.iso', chunkSizeBytes: 8 }], archive), 'other.iso', /no member named "other\.iso\.000000000"/);
    });
  });

  it('matches names exactly: an href differing only in case is missing, and the error says so', async () => {
    await withTempDir(async (dir) => {
      const { pkg, ova } = await makePackage(dir);
      const archive = await openArchive(ova);
      assert.equal(archive.find('DISK1.vmdk'), undefined);
      const hint = /no member named "DISK1\.vmdk" \(a member named "disk1\.vmdk" differs only in case\)/;
      assert.match(describeMissing(archive, 'DISK1.vmdk'), hint);
      assertRefused(() => archive.locate('DISK1.vmdk'), 'DISK1.vmdk', hint);
      assertRefused(() => checkReferences([{ id: 'f', href: 'DISK1.vmdk' }], archive), 'DISK1.vmdk', hint);
      const directory = await openArchive(pkg);
      assertRefused(() => directory.locate('Sub/Disk2.vmdk'), 'Sub/Disk2.vmdk', /no file named "Sub\/Disk2\.vmdk" in .* \(a file named "sub\/disk2\.vmdk" differs only in case\)/);
    });
  });
});

describe('directory packages: symbolic links and special files', () => {
  it('refuses hrefs through symlinks (to a file outside, a directory outside, or dangling) and FIFOs', async () => {
    await withTempDir(async (dir) => {
      const { pkg } = await makePackage(dir);
      const canary = join(dir, 'canary.txt');
      await writeFile(canary, 'outside the package\n');
      await mkdir(join(dir, 'outside'));
      await writeFile(join(dir, 'outside', 'x.vmdk'), 'outside\n');
      await symlink(canary, join(pkg, 'leak.vmdk'));
      await symlink('../outside', join(pkg, 'escape'));
      await symlink('disk1.vmdk', join(pkg, 'alias.vmdk'));
      await symlink(join(dir, 'nowhere'), join(pkg, 'dangling.vmdk'));
      execFileSync('mkfifo', [join(pkg, 'pipe.vmdk')]);
      const archive = await openArchive(pkg);
      const cases: [string, RegExp][] = [
        ['leak.vmdk', /"leak\.vmdk" resolves through the symbolic link "leak\.vmdk"/],
        ['escape/x.vmdk', /resolves through the symbolic link "escape"/],
        ['alias.vmdk', /symbolic link "alias\.vmdk"/],
        ['dangling.vmdk', /symbolic link "dangling\.vmdk"/],
        ['pipe.vmdk', /is not a regular file \(a FIFO, device or socket\)/],
      ];
      for (const [href, why] of cases) {
        assertRefused(() => archive.find(href), href, why);
        assertRefused(() => archive.createReadStream(href), href, why);
        assertRefused(() => checkReferences([{ id: 'f', href }], archive), href, why);
      }
      assert.deepEqual(
        archive.entries().map((e) => e.name),
        ['big.iso.000000000', 'disk1.vmdk', 'sub/disk2.vmdk', 'vm.ovf'],
        'symlinks and FIFOs are not listed',
      );
      assert.equal(await readFile(canary, 'utf8'), 'outside the package\n');
    });
  });

  it('refuses a descriptor that is a symlink, but accepts a package reached through a symlinked directory', async () => {
    await withTempDir(async (dir) => {
      const { pkg } = await makePackage(dir);
      await mkdir(join(dir, 'elsewhere'));
      await symlink(join(pkg, 'vm.ovf'), join(dir, 'elsewhere', 'vm.ovf'));
      await assert.rejects(openArchive(join(dir, 'elsewhere', 'vm.ovf')), /the descriptor is a symbolic link \(to .*pkg\/vm\.ovf\)/);
      await assert.rejects(openArchive(join(dir, 'elsewhere')), /the descriptor is a symbolic link/);
      await symlink(pkg, join(dir, 'linked'));
      const archive = await openArchive(join(dir, 'linked'));
      assert.deepEqual(archive.locate('disk1.vmdk'), { path: join(pkg, 'disk1.vmdk'), offset: 0, size: 9 });
      assert.equal((await archive.readDescriptor()).toString(), '<Envelope/>\n');
    });
  });
});
