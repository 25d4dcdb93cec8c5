// Manifest strictness: coverage of every used file, conflicting duplicate lines, ambiguous
// manifests, and proof that verification hashes exactly the member range that is converted.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ManifestError, PackageError } from '../../src/errors.js';
import { openArchive } from '../../src/archive/archive.js';
import { checkManifestCoverage, findManifest, parseManifest, verifyEntry, type ManifestEntry } from '../../src/archive/manifest.js';
import { collect, makeTar, pseudoRandom, readAt, withTempDir } from './helpers.js';
import { fixChecksum } from './tar-writer.js';

const sha = (alg: string, data: Buffer | string): string => createHash(alg).update(data).digest('hex');

/** Asserts that `fn` throws a ManifestError whose file is `file` and message matches. */
function assertManifestError(fn: () => unknown, file: string, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ManifestError, `expected ManifestError, got ${String(err)}`);
    assert.equal(err.file, file);
    assert.match(err.message, message);
    return true;
  });
}

describe('checkManifestCoverage', () => {
  const d1 = sha('sha256', 'disk');
  const text = `SHA256(vm.ovf)= ${sha('sha256', 'ovf')}\nSHA256(./disk1.vmdk)= ${d1}\nSHA1(disk1.vmdk)= ${sha('sha1', 'disk')}\n`;
  const entries = parseManifest(text, 'vm.mf');

  it('passes when every used file is listed (canonical names, several algorithms)', () => {
    checkManifestCoverage(entries, ['vm.ovf', 'disk1.vmdk'], 'vm.mf');
    checkManifestCoverage(entries, ['./vm.ovf'], 'vm.mf');
    checkManifestCoverage([...entries, { ...(entries[1] as ManifestEntry), line: 9 }], ['vm.ovf'], 'vm.mf');
  });

  it('refuses a used file the manifest omits, naming it', () => {
    assertManifestError(() => checkManifestCoverage(entries, ['vm.ovf', 'disk1.vmdk', 'cdrom.iso'], 'vm.mf'), 'cdrom.iso', /vm\.mf does not list "cdrom\.iso", which the import reads/);
    assertManifestError(() => checkManifestCoverage(entries, ['Disk1.vmdk'], 'vm.mf'), 'Disk1.vmdk', /does not list "Disk1\.vmdk"/);
  });

  it('refuses a name listed twice with different digests under one algorithm', () => {
    const twice = parseManifest(`${text}SHA256(disk1.vmdk)= ${'0'.repeat(64)}\n`, 'vm.mf');
    assertManifestError(() => checkManifestCoverage(twice, ['vm.ovf'], 'vm.mf'), 'vm.mf', new RegExp(`"disk1\\.vmdk" is listed twice with different SHA256 digests \\(line 2: ${d1}, line 4: 0{64}\\)`));
  });

  it('refuses hostile names in the manifest', () => {
    for (const name of ['../etc/shadow', '/etc/shadow', 'file:///etc/shadow']) {
      const bad = parseManifest(`SHA256(${name})= ${d1}\n`, 'vm.mf');
      assertManifestError(() => checkManifestCoverage(bad, [], 'vm.mf'), 'vm.mf', /vm\.mf line 1: file name .* (path step|absolute path|is a URL)/);
    }
  });
});

describe('findManifest with several candidates', () => {
  it('prefers the one named like the descriptor, and refuses to guess among others', async () => {
    await withTempDir(async (dir) => {
      const pkg = join(dir, 'pkg');
      await mkdir(pkg);
      await writeFile(join(pkg, 'vm.ovf'), '<Envelope/>\n');
      await writeFile(join(pkg, 'a.mf'), '');
      await writeFile(join(pkg, 'b.mf'), '');
      await assert.rejects(
        (async () => findManifest(await openArchive(pkg)))(),
        (err: unknown) => err instanceof PackageError && /several \.mf files \(a\.mf, b\.mf\) and none named after vm\.ovf/.test(err.message),
      );
      await writeFile(join(pkg, 'vm.mf'), '');
      assert.equal(findManifest(await openArchive(pkg)), 'vm.mf');
    });
  });
});

describe('verification reads exactly the converted byte range', () => {
  it('ignores tar padding and neighbouring members, and catches a change inside the range', async () => {
    await withTempDir(async (dir) => {
      const src = join(dir, 'src');
      await mkdir(src);
      const disk = pseudoRandom(1000, 5); // not a multiple of 512: the last block has 24 bytes of padding
      await writeFile(join(src, 'vm.ovf'), '<Envelope/>\n');
      await writeFile(join(src, 'disk1.vmdk'), disk);
      await writeFile(join(src, 'next.bin'), pseudoRandom(700, 9));
      const ova = join(dir, 'vm.ova');
      makeTar(ova, src, ['vm.ovf', 'disk1.vmdk', 'next.bin'], 'ustar');
      const entry: ManifestEntry = { algorithm: 'sha256', name: 'disk1.vmdk', digest: sha('sha256', disk), line: 1 };
      const before = (await openArchive(ova)).locate('disk1.vmdk');

      const bytes = await readFile(ova);
      const next = (await openArchive(ova)).locate('next.bin');
      bytes.fill(0xee, before.offset + before.size, before.offset + 1024); // the padding after disk1.vmdk
      bytes.fill(0xdd, next.offset, next.offset + next.size); // the neighbour's data
      bytes.fill(0x63, before.offset - 512 + 265, before.offset - 512 + 297); // uname: header metadata, outside any range
      fixChecksum(bytes, before.offset - 512);
      await writeFile(ova, bytes);
      const archive = await openArchive(ova);
      const range = archive.locate('disk1.vmdk');
      assert.deepEqual(range, before, 'the converted range is unchanged');
      assert.ok((await readAt(ova, range.offset, range.size)).equals(disk), 'the range holds exactly the member data');
      assert.ok((await collect(archive.createReadStream('disk1.vmdk'))).equals(disk), 'the verified stream is the same bytes');
      await verifyEntry(archive, entry);

      const flip = (at: number, mask: number): void => void (bytes[at] = (bytes[at] ?? 0) ^ mask);
      flip(range.offset + range.size - 1, 0x01); // the last byte of the range
      await writeFile(ova, bytes);
      await assert.rejects(verifyEntry(await openArchive(ova), entry), (err: unknown) => err instanceof ManifestError && /digest mismatch/.test(err.message));
      flip(range.offset + range.size - 1, 0x01);
      flip(range.offset, 0x80); // the first byte of the range
      await writeFile(ova, bytes);
      await assert.rejects(verifyEntry(await openArchive(ova), entry), (err: unknown) => err instanceof ManifestError && /digest mismatch/.test(err.message));
    });
  });
});
