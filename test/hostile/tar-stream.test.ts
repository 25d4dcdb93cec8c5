// Hostile tar members in a package read in one pass (issue 11): a gzip-compressed OVA on standard
// input is refused the same way as a plain OVA (tar.test.ts), exit 3 with the member named; a
// member that comes after the disk is refused once the disk has streamed by, and rolled back.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { ensureDefaultNetwork } from '../commands/helpers.js';
import { assertCleanupFindsNothing } from '../faults/cleanup-check.js';
import { assertRefused, dropImport } from './checks.js';
import { editOvf, setUp, tearDown, watch, type Scene } from './kit.js';
import { importPkg } from './run.js';
import { forgeArchive, forgeGnuLongName, forgeHeader, forgeMember, forgePax } from './tar-forge.js';

const LONG = `../${'L'.repeat(120)}`;

describe('hostile tar members inside a gzip-compressed OVA read from standard input are refused as in a plain OVA', () => {
  let s: Scene;
  let vmdk: Buffer;
  let ovf: string;

  before(async () => {
    s = await setUp('tar-stream');
    await ensureDefaultNetwork();
    vmdk = await readFile(s.base.vmdk);
    ovf = editOvf(s.ovf, {});
    for (const p of [join(s.work, 'x'), join(s.work, 'evil'), '/etc/x']) await watch(s, p);
  });
  after(async () => {
    await tearDown(s);
    await assertCleanupFindsNothing();
  });

  /** Writes forged `parts`, gzip-compressed, as `${pkgDir}/LABEL.ova.gz`. */
  async function forged(label: string, parts: Buffer[], end = true): Promise<string> {
    const gz = join(s.pkgDir, `${label}.ova.gz`);
    await writeFile(gz, gzipSync(forgeArchive(parts, end)));
    return gz;
  }

  /** Imports `gz` from standard input and asserts exit 3 with `message` (the source is `-`), nothing left. */
  async function refused(gz: string, message: RegExp[]): Promise<void> {
    const run = await importPkg(s, gz, { stdin: true });
    assert.match(run.stderr, /Reading standard input in one pass \(gzip-compressed tar\)/);
    await assertRefused(s, run, { code: 3, message, qemu: 'any', absent: [join(s.work, 'x'), join(s.work, 'evil'), '/etc/x'] });
  }

  const good = () => [forgeMember('app.ovf', ovf), forgeMember('app-disk1.vmdk', vmdk)];

  test('control: the forged archive of the two good members imports from standard input', async () => {
    const gz = await forged('control', good());
    const run = await importPkg(s, gz, { stdin: true });
    try {
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /Reading standard input in one pass \(gzip-compressed tar\)/);
    } finally {
      await dropImport(s, run);
    }
  });

  test('a member named ../x after the disk: refused after the disk streamed by, rolled back', async () => {
    const gz = await forged('dotdot', [...good(), forgeMember('../x', 'pwned\n')]);
    await refused(gz, [/-: member "\.\.\/x" contains a "\.\." path step, which could reach outside the package/]);
  });

  test('a member named /etc/x', async () => {
    await refused(await forged('absolute', [...good(), forgeMember('/etc/x', 'pwned\n')]), [/-: member "\/etc\/x" is an absolute path; only paths relative to the package are supported/]);
  });

  test('a member named a/../../x before the disk', async () => {
    const gz = await forged('nested', [forgeMember('app.ovf', ovf), forgeMember('a/../../x', 'pwned\n'), forgeMember('app-disk1.vmdk', vmdk)]);
    await refused(gz, [/-: member "a\/\.\.\/\.\.\/x" contains a "\.\." path step/]);
  });

  test('the disk is a symbolic link to /etc/shadow', async () => {
    const gz = await forged('symlink', [forgeMember('app.ovf', ovf), forgeMember('app-disk1.vmdk', '', { type: '2', linkName: '/etc/shadow' })]);
    await refused(gz, [/-: member "app-disk1\.vmdk" is a symbolic link \(to "\/etc\/shadow"\); links are refused in an OVA/]);
  });

  test('a hard link member', async () => {
    const gz = await forged('hardlink', [...good(), forgeMember('copy.vmdk', '', { type: '1', linkName: 'app-disk1.vmdk' })]);
    await refused(gz, [/-: member "copy\.vmdk" is a hard link \(to "app-disk1\.vmdk"\); links are refused in an OVA/]);
  });

  test('a duplicate of the disk after it', async () => {
    const gz = await forged('duplicate', [...good(), forgeMember('app-disk1.vmdk', 'createType="monolithicFlat"\n')]);
    await refused(gz, [/-: member "app-disk1\.vmdk" duplicates the member "app-disk1\.vmdk" \(both are "app-disk1\.vmdk"\)/]);
  });

  test('a pax path= record that renames the disk to ../evil', async () => {
    const gz = await forged('pax-evil', [forgeMember('app.ovf', ovf), forgePax({ path: '../evil' }), forgeMember('app-disk1.vmdk', vmdk)]);
    await refused(gz, [/-: member "\.\.\/evil" contains a "\.\." path step/]);
  });

  test('a pax path= record that hides a header named ../evil behind the disk name', async () => {
    const gz = await forged('pax-hide', [forgeMember('app.ovf', ovf), forgePax({ path: 'app-disk1.vmdk' }), forgeMember('../evil', vmdk)]);
    await refused(gz, [/-: member "app-disk1\.vmdk" is renamed from a header name "\.\.\/evil" that contains a "\.\." path step/]);
  });

  test('a GNU long name starting with ../', async () => {
    const gz = await forged('gnu-long', [forgeMember('app.ovf', ovf), forgeGnuLongName(LONG), forgeMember('app-disk1.vmdk', vmdk, { magic: 'gnu' })]);
    await refused(gz, [new RegExp(`-: member "\\.\\./L{120}" contains a "\\.\\." path step`)]);
  });

  test('a header with a bad checksum after the descriptor', async () => {
    const bad = forgeHeader({ name: 'app-disk1.vmdk', size: vmdk.length });
    bad[148] = (bad[148] ?? 0) ^ 1;
    await refused(await forged('checksum', [forgeMember('app.ovf', ovf), bad, vmdk]), [/-: bad tar header checksum at byte \d+/]);
  });

  test('a member whose size runs past the end of the stream (truncated archive)', async () => {
    const gz = await forged('overrun', [forgeMember('app.ovf', ovf), forgeHeader({ name: 'app-disk1.vmdk', size: 64 * 2 ** 20 }), vmdk], false);
    await refused(gz, [/-: truncated archive: member "app-disk1\.vmdk" ends after \d+ of its 67108864 bytes/]);
  });

  test('an archive cut in the middle of a header', async () => {
    const whole = forgeArchive(good());
    const diskHeader = 512 + Math.ceil(Buffer.byteLength(ovf) / 512) * 512;
    const gz = join(s.pkgDir, 'cut.ova.gz');
    await writeFile(gz, gzipSync(whole.subarray(0, diskHeader + 200)));
    await refused(gz, [new RegExp(`-: truncated archive: the header at byte ${diskHeader} is cut short`)]);
  });
});
