// Hostile OVA members (issue 4, case 5): each package is built on the fly, with GNU tar or the
// minimal tar writer, and openArchive must refuse it naming the member and the reason.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { link, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PackageError } from '../../src/errors.js';
import { openArchive } from '../../src/archive/archive.js';
import { nameProblem } from '../../src/archive/policy.js';
import { makeTar, withTempDir } from './helpers.js';
import { longNameBytes, memberBytes, paxBytes, tarOf } from './tar-writer.js';

const ovf = memberBytes({ name: 'vm.ovf', data: '<Envelope/>\n' });
const disk = memberBytes({ name: 'disk1.vmdk', data: 'not really a disk\n' });

/** Asserts that opening `ova` fails with a PackageError whose file is `file` and message matches. */
async function assertRefused(ova: string, file: string, message: RegExp): Promise<void> {
  await assert.rejects(openArchive(ova), (err: unknown) => {
    assert.ok(err instanceof PackageError, `expected PackageError, got ${String(err)}`);
    assert.equal(err.file, file);
    assert.match(err.message, message);
    assert.ok(err.message.startsWith(ova), `the message names the package: ${err.message}`);
    return true;
  });
}

/** Writes vm.ovf + disk1.vmdk + `hostile` (never referenced) as `dir/name`. */
async function hostileOva(dir: string, name: string, ...hostile: Buffer[]): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, tarOf(ovf, disk, ...hostile));
  return path;
}

describe('nameProblem', () => {
  it('accepts ordinary relative names', () => {
    for (const ok of ['vm.ovf', 'disk 1.vmdk', './disk1.vmdk', 'sub/disk.vmdk', 'a//b', 'sub/', 'x..y', '...', 'café.iso', 'a%20b.vmdk']) {
      assert.equal(nameProblem(ok), undefined, ok);
    }
  });

  it('refuses absolute, traversing, URL, drive, control-character and encoded names', () => {
    const cases: [string, RegExp][] = [
      ['', /empty/],
      ['/etc/x', /absolute path/],
      ['\\etc\\x', /absolute path/],
      ['../x', /"\.\." path step/],
      ['a/../../x', /"\.\." path step/],
      ['sub/../../x', /"\.\." path step/],
      ['a/..', /"\.\." path step/],
      ['a\\..\\x', /"\.\." path step/],
      ['http://example.com/x.vmdk', /is a URL \(scheme "http:"\)/],
      ['file:///etc/passwd', /is a URL \(scheme "file:"\)/],
      ['C:\\disk.vmdk', /absolute path \(Windows drive C:\)/],
      ['c:/disk.vmdk', /Windows drive/],
      ['a\0b', /control character U\+0000/],
      ['a\nb', /control character U\+000A/],
      ['a\u007fb', /U\+007F/],
      ['a\u0085b', /U\+0085/],
      ['%2e%2e/x', /percent-escaped/],
      ['a%2Fb', /percent-escaped/],
      ['x'.repeat(4097), /4097 characters long/],
    ];
    for (const [name, why] of cases) assert.match(nameProblem(name) ?? 'accepted', why, JSON.stringify(name));
  });
});

describe('openArchive refuses hostile OVA members, even unreferenced ones', () => {
  for (const [label, name, why] of [
    ['a "../x" member', '../x', /"\.\." path step/],
    ['an "/etc/x" member', '/etc/x', /absolute path/],
    ['an "a/../../x" member', 'a/../../x', /"\.\." path step/],
    ['a "file:///etc/passwd" member', 'file:///etc/passwd', /is a URL/],
    ['a "C:\\x" member', 'C:\\x', /Windows drive/],
  ] as const) {
    it(`refuses ${label}`, async () => {
      await withTempDir(async (dir) => {
        const ova = await hostileOva(dir, 'bad.ova', memberBytes({ name, data: 'payload' }));
        await assertRefused(ova, name, new RegExp(`member ${JSON.stringify(name).replace(/[\\.*/]/g, '\\$&')} .*${why.source}`));
      });
    });
  }

  it('refuses a pax path= that renames a member to "../evil" or into a control character', async () => {
    await withTempDir(async (dir) => {
      const renamed = await hostileOva(dir, 'pax.ova', paxBytes({ path: '../evil' }), memberBytes({ name: 'innocent.txt', data: 'x' }));
      await assertRefused(renamed, '../evil', /member "\.\.\/evil" contains a "\.\." path step/);
      const nul = await hostileOva(dir, 'nul.ova', paxBytes({ path: 'disk1.vmdk\0.txt' }), memberBytes({ name: 'x.txt', data: 'x' }));
      await assertRefused(nul, 'disk1.vmdk\0.txt', /control character U\+0000/);
      const newline = await hostileOva(dir, 'nl.ova', paxBytes({ path: 'a\nb' }), memberBytes({ name: 'x.txt', data: 'x' }));
      await assertRefused(newline, 'a\nb', /control character U\+000A/);
    });
  });

  it('refuses a GNU long name that renames a member to an absolute path', async () => {
    await withTempDir(async (dir) => {
      const ova = await hostileOva(dir, 'gnu.ova', longNameBytes(`/etc/${'x'.repeat(120)}`), memberBytes({ name: 'short.txt', data: 'x' }));
      await assertRefused(ova, `/etc/${'x'.repeat(120)}`, /absolute path/);
    });
  });

  it('refuses a benign pax path over a hostile header name (readers would disagree)', async () => {
    await withTempDir(async (dir) => {
      const ova = await hostileOva(dir, 'mask.ova', paxBytes({ path: 'notes.txt' }), memberBytes({ name: '../../etc/cron.d/x', data: 'x' }));
      await assertRefused(ova, 'notes.txt', /renamed from a header name "\.\.\/\.\.\/etc\/cron\.d\/x" that contains a "\.\." path step/);
    });
  });

  it('refuses a pax global header that renames every member', async () => {
    await withTempDir(async (dir) => {
      const ova = join(dir, 'global.ova');
      await writeFile(ova, tarOf(paxBytes({ path: '../all' }, 'g'), ovf, disk));
      await assertRefused(ova, ova, /pax global header at byte 0 sets "path"/);
    });
  });

  it('refuses symbolic links, hard links, FIFOs and GNU sparse members made by GNU tar', async () => {
    await withTempDir(async (dir) => {
      const src = join(dir, 'src');
      await mkdir(src);
      await writeFile(join(src, 'vm.ovf'), '<Envelope/>\n');
      await writeFile(join(src, 'disk1.vmdk'), 'disk\n');
      await symlink('/etc/passwd', join(src, 'passwd'));
      await link(join(src, 'disk1.vmdk'), join(src, 'hard.vmdk'));
      execFileSync('mkfifo', [join(src, 'fifo')]);
      const sparse = join(src, 'sparse.img');
      await writeFile(sparse, 'tail');
      execFileSync('truncate', ['-s', '4M', sparse]);
      execFileSync('dd', ['if=/dev/urandom', `of=${sparse}`, 'bs=1', 'count=10', 'seek=3000000', 'conv=notrunc'], { stdio: 'ignore' });
      const cases: [string, string[], string, string, RegExp][] = [
        ['symlink.ova', ['vm.ovf', 'passwd'], 'ustar', 'passwd', /is a symbolic link \(to "\/etc\/passwd"\)/],
        ['hardlink.ova', ['vm.ovf', 'disk1.vmdk', 'hard.vmdk'], 'ustar', 'hard.vmdk', /is a hard link \(to "disk1\.vmdk"\)/],
        ['fifo.ova', ['vm.ovf', 'fifo'], 'ustar', 'fifo', /special file \(tar type flag "6"\)/],
        ['sparse-pax.ova', ['vm.ovf', 'sparse.img'], 'pax', 'sparse.img', /GNU sparse file/],
      ];
      for (const [name, members, format, file, why] of cases) {
        const ova = join(dir, name);
        makeTar(ova, src, members, format, format === 'pax' ? ['--sparse', '--sparse-version=1.0'] : []);
        await assertRefused(ova, file.startsWith('sparse') ? (await rawSparseName(ova)) : file, why);
      }
      const oldSparse = join(dir, 'sparse-gnu.ova');
      makeTar(oldSparse, src, ['vm.ovf', 'sparse.img'], 'gnu', ['--sparse']);
      await assertRefused(oldSparse, oldSparse, /"sparse\.img" .*GNU sparse file \(type 'S'\)/);
    });
  });

  it('refuses duplicate member names, also when they differ only by "./"', async () => {
    await withTempDir(async (dir) => {
      const src = join(dir, 'src');
      await mkdir(src);
      await writeFile(join(src, 'vm.ovf'), '<Envelope/>\n');
      await writeFile(join(src, 'disk1.vmdk'), 'first\n');
      const appended = join(dir, 'appended.ova');
      makeTar(appended, src, ['vm.ovf', 'disk1.vmdk'], 'ustar');
      await writeFile(join(src, 'disk1.vmdk'), 'second, replacing the first\n');
      execFileSync('tar', ['--format=ustar', '-rf', appended, '-C', src, 'disk1.vmdk']);
      await assertRefused(appended, 'disk1.vmdk', /member "disk1\.vmdk" duplicates the member "disk1\.vmdk"/);
      const dotted = await hostileOva(dir, 'dotted.ova', memberBytes({ name: './disk1.vmdk', data: 'shadow' }));
      await assertRefused(dotted, './disk1.vmdk', /duplicates the member "disk1\.vmdk" \(both are "disk1\.vmdk"\)/);
    });
  });

  it('accepts long names via GNU and pax headers, and a "." directory member', async () => {
    await withTempDir(async (dir) => {
      const src = join(dir, 'src');
      const long = `${'d'.repeat(90)}/${'n'.repeat(120)}.vmdk`;
      await mkdir(join(src, 'd'.repeat(90)), { recursive: true });
      await writeFile(join(src, 'vm.ovf'), '<Envelope/>\n');
      await writeFile(join(src, long), 'long\n');
      for (const format of ['gnu', 'pax']) {
        const ova = join(dir, `long-${format}.ova`);
        makeTar(ova, src, ['.'], format);
        const archive = await openArchive(ova);
        assert.equal(archive.find(long)?.size, 5, format);
        assert.equal(archive.find(`./${long}`)?.size, 5, format);
      }
    });
  });
});

/** The name GNU tar gives a pax sparse member (its real name is in GNU.sparse.name). */
async function rawSparseName(ova: string): Promise<string> {
  const { indexTar } = await import('../../src/archive/tar.js');
  const member = (await indexTar(ova)).members.find((m) => m.sparse === true);
  assert.ok(member, 'the fixture holds a pax sparse member');
  return member.rawName;
}
