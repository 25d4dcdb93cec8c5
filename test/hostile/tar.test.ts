// Hostile OVA tar members, end to end (issue 4, hostile input 5): escaping names, links,
// duplicates, pax/GNU renames, sparse members, lying sizes, truncation, case-only differences.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { open, readFile, symlink, link, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensureDefaultNetwork } from '../commands/helpers.js';
import { assertRefused, dropImport } from './checks.js';
import { baseFiles, editOvf, packOva, setUp, stage, tearDown, watch, type Scene } from './kit.js';
import { importPkg } from './run.js';
import { forgeArchive, forgeGnuLongName, forgeHeader, forgeMember, forgePax } from './tar-forge.js';

const LONG = `../${'L'.repeat(120)}`;

describe('hostile tar members are refused before anything is read (exit 3, the member named)', () => {
  let s: Scene;
  let vmdk: Buffer;
  let ovf: string;

  before(async () => {
    s = await setUp('tar');
    await ensureDefaultNetwork();
    vmdk = await readFile(s.base.vmdk);
    ovf = editOvf(s.ovf, {});
    for (const p of [join(s.work, 'x'), join(s.work, 'evil'), join(s.work, LONG.slice(3)), '/etc/x']) await watch(s, p);
  });
  after(() => tearDown(s));

  /** Writes forged `parts` as `${pkgDir}/LABEL.ova`. */
  async function forged(label: string, parts: Buffer[], end = true): Promise<string> {
    const ova = join(s.pkgDir, `${label}.ova`);
    await writeFile(ova, forgeArchive(parts, end));
    return ova;
  }

  /** Imports `ova` and asserts exit 3 with `message`, nothing created, no qemu-img run. */
  async function refused(ova: string, message: RegExp[], start = false): Promise<void> {
    const run = await importPkg(s, ova, { args: start ? ['--start'] : [] });
    await assertRefused(s, run, { code: 3, message, qemu: 'none', absent: [join(s.work, 'x'), join(s.work, 'evil'), '/etc/x'] });
  }

  /** The two good members, as forged tar bytes. */
  const good = () => [forgeMember('app.ovf', ovf), forgeMember('app-disk1.vmdk', vmdk)];

  test('control: the forged archive of the two good members is a valid OVA that imports', async () => {
    const ova = await forged('control', good());
    await execa('tar', ['-tf', ova]);
    const run = await importPkg(s, ova);
    try {
      assert.equal(run.code, 0, run.stderr);
    } finally {
      await dropImport(s, run);
    }
  });

  test('5. a member named ../x', async () => {
    const ova = await forged('dotdot', [...good(), forgeMember('../x', 'pwned\n')]);
    await refused(ova, [/dotdot\.ova: member "\.\.\/x" contains a "\.\." path step, which could reach outside the package/], true);
  });

  test('5. a member named /etc/x', async () => {
    const ova = await forged('absolute', [...good(), forgeMember('/etc/x', 'pwned\n')]);
    await refused(ova, [/absolute\.ova: member "\/etc\/x" is an absolute path; only paths relative to the package are supported/]);
  });

  test(
    '5. a member name holding a C1 control (U+009B CSI) is refused, and the name is shown escaped',
    async () => {
      const ova = await forged('c1-name', [...good(), forgeMember('evil\u009b2J', 'x')]);
      const run = await importPkg(s, ova);
      await assertRefused(s, run, { code: 3, message: [/member "evil.{1,6}2J" contains the control character U\+009B/], qemu: 'none' });
      assert.doesNotMatch(run.stderr, /[\u007f-\u009f]/, 'raw C1 control in the output');
    },
  );

  test('5. a member named a/../../x', async () => {
    const ova = await forged('nested-dotdot', [forgeMember('app.ovf', ovf), forgeMember('a/../../x', 'pwned\n'), forgeMember('app-disk1.vmdk', vmdk)]);
    await refused(ova, [/member "a\/\.\.\/\.\.\/x" contains a "\.\." path step/]);
  });

  test('5. the disk is a symbolic link to /etc/shadow (GNU tar)', async () => {
    const dir = await stage(s, 'symlink', { 'app.ovf': ovf });
    await symlink('/etc/shadow', join(dir, 'app-disk1.vmdk'));
    const ova = join(s.pkgDir, 'symlink.ova');
    await execa('tar', ['--format=ustar', '-cf', ova, '-C', dir, 'app.ovf', 'app-disk1.vmdk']);
    await refused(ova, [/symlink\.ova: member "app-disk1\.vmdk" is a symbolic link \(to "\/etc\/shadow"\); links are refused in an OVA/], true);
  });

  test('5. a hard link member (GNU tar)', async () => {
    const dir = await stage(s, 'hardlink', baseFiles(s));
    await link(join(dir, 'app-disk1.vmdk'), join(dir, 'copy.vmdk'));
    const ova = join(s.pkgDir, 'hardlink.ova');
    await execa('tar', ['--format=ustar', '-cf', ova, '-C', dir, 'app.ovf', 'app-disk1.vmdk', 'copy.vmdk']);
    await refused(ova, [/hardlink\.ova: member "copy\.vmdk" is a hard link \(to "app-disk1\.vmdk"\); links are refused in an OVA/]);
  });

  test('5. a duplicate member appended with tar -r', async () => {
    const ova = await packOva(s, 'duplicate', baseFiles(s));
    const other = await stage(s, 'duplicate-2', { 'app-disk1.vmdk': '# Disk DescriptorFile\ncreateType="monolithicFlat"\nRW 8 FLAT "/etc/shadow" 0\n' });
    await execa('tar', ['--format=ustar', '-rf', ova, '-C', other, 'app-disk1.vmdk']);
    await refused(ova, [/duplicate\.ova: member "app-disk1\.vmdk" duplicates the member "app-disk1\.vmdk" \(both are "app-disk1\.vmdk"\); a later duplicate silently replaces an earlier one/]);
  });

  test('5. a pax path= record that renames the disk to ../evil', async () => {
    const ova = await forged('pax-evil', [forgeMember('app.ovf', ovf), forgePax({ path: '../evil' }), forgeMember('app-disk1.vmdk', vmdk)]);
    await refused(ova, [/pax-evil\.ova: member "\.\.\/evil" contains a "\.\." path step/]);
  });

  test('5. a pax path= record that hides a header named ../evil behind the disk name', async () => {
    const ova = await forged('pax-hide', [forgeMember('app.ovf', ovf), forgePax({ path: 'app-disk1.vmdk' }), forgeMember('../evil', vmdk)]);
    await refused(ova, [/pax-hide\.ova: member "app-disk1\.vmdk" is renamed from a header name "\.\.\/evil" that contains a "\.\." path step/]);
  });

  test('5. a GNU long name (type L) of 123 characters starting with ../', async () => {
    const ova = await forged('gnu-long', [forgeMember('app.ovf', ovf), forgeGnuLongName(LONG), forgeMember('app-disk1.vmdk', vmdk, { magic: 'gnu' })]);
    await refused(ova, [new RegExp(`gnu-long\\.ova: member "\\.\\./L{120}" contains a "\\.\\." path step`)]);
  });

  /** Stages the base files plus a 4 MiB file with one byte of data (a hole GNU tar --sparse records). */
  async function withHole(label: string): Promise<string> {
    const dir = await stage(s, label, baseFiles(s));
    const fh = await open(join(dir, 'hole.bin'), 'w');
    await fh.write('x', 4 * 2 ** 20);
    await fh.close();
    return dir;
  }

  test('5. a sparse member (GNU tar --format=pax --sparse)', async () => {
    const dir = await withHole('sparse-pax');
    const ova = join(s.pkgDir, 'sparse-pax.ova');
    await execa('tar', ['--format=pax', '--sparse', '-cf', ova, '-C', dir, 'app.ovf', 'hole.bin', 'app-disk1.vmdk']);
    await refused(ova, [/sparse-pax\.ova: member "\.\/GNUSparseFile\.\d+\/hole\.bin" is a GNU sparse file; sparse members are refused/]);
  });

  test('5. a sparse member (GNU tar --format=gnu --sparse, type S)', async () => {
    const dir = await withHole('sparse-gnu');
    const ova = join(s.pkgDir, 'sparse-gnu.ova');
    await execa('tar', ['--format=gnu', '--sparse', '-cf', ova, '-C', dir, 'app.ovf', 'hole.bin', 'app-disk1.vmdk']);
    await refused(ova, [/sparse-gnu\.ova: member "hole\.bin" \(header at byte \d+\) is a GNU sparse file \(type 'S'\); sparse members are refused/]);
  });

  test('5. a member whose size field runs past the end of the file', async () => {
    const ova = await forged('overrun', [forgeMember('app.ovf', ovf), forgeHeader({ name: 'app-disk1.vmdk', size: 64 * 2 ** 20 }), vmdk], false);
    await refused(ova, [/overrun\.ova: truncated archive: the data of "app-disk1\.vmdk" \(header at byte \d+, 67108864 bytes\) runs past the end of the file/]);
  });

  test('5. an archive truncated in the middle of a header', async () => {
    const ova = await packOva(s, 'truncated', baseFiles(s));
    const diskHeader = 512 + Math.ceil(Buffer.byteLength(ovf) / 512) * 512;
    await truncate(ova, diskHeader + 200);
    await refused(ova, [new RegExp(`truncated\\.ova: truncated archive: the header at byte ${diskHeader} is cut short`)]);
  });

  test('5. an href that differs from the member name only in case', async () => {
    const ova = await packOva(s, 'case', { 'app.ovf': editOvf(s.ovf, { href: 'App-Disk1.VMDK' }), 'app-disk1.vmdk': { copy: s.base.vmdk } });
    await refused(ova, [/case\.ova: no member named "App-Disk1\.VMDK" \(a member named "app-disk1\.vmdk" differs only in case\)/]);
  });
});
