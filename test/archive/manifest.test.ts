// Manifest parsing, manifest lookup and streaming digest verification on real package files.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ManifestError, PackageError } from '../../src/errors.js';
import { openArchive } from '../../src/archive/archive.js';
import { findManifest, parseManifest, verifyEntry, type ManifestEntry } from '../../src/archive/manifest.js';
import { makeTar, pseudoRandom, withTempDir } from './helpers.js';

const sha = (alg: string, data: Buffer | string): string => createHash(alg).update(data).digest('hex');
const disk = pseudoRandom(3 * 1024 * 1024 + 777, 3); // several 1 MiB chunks

/** Asserts that `fn` throws a ManifestError naming `file` whose message matches. */
function assertManifestError(fn: () => unknown, message: RegExp, file: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ManifestError, `expected ManifestError, got ${String(err)}`);
    assert.equal(err.file, file);
    assert.match(err.message, message);
    return true;
  });
}

describe('parseManifest', () => {
  it('parses SHA1/SHA256/SHA512 lines with CRLF, spaces, upper-case hex and blank lines', () => {
    const s1 = sha('sha1', 'a').toUpperCase();
    const s256 = sha('sha256', 'b');
    const s512 = sha('sha512', 'c').toUpperCase();
    const text = `\uFEFFSHA1(vm.ovf)= ${s1}\r\nsha256 (disk 1.vmdk) = ${s256}\r\n\r\n  \nSha512(x(1).iso)=${s512}\n`;
    assert.deepEqual(parseManifest(text, 'vm.mf'), [
      { algorithm: 'sha1', name: 'vm.ovf', digest: s1.toLowerCase(), line: 1 },
      { algorithm: 'sha256', name: 'disk 1.vmdk', digest: s256, line: 2 },
      { algorithm: 'sha512', name: 'x(1).iso', digest: s512.toLowerCase(), line: 5 },
    ]);
  });

  it('rejects unparsable lines, unknown algorithms and wrong digest lengths, naming the line', () => {
    const good = `SHA256(vm.ovf)= ${sha('sha256', 'x')}\n`;
    assertManifestError(() => parseManifest(`${good}\nthis is not a digest\n`, 'vm.mf'), /vm\.mf line 3: not a digest line/, 'vm.mf');
    assertManifestError(() => parseManifest(`${good}MD5(a)= ${'0'.repeat(32)}\n`, 'vm.mf'), /line 2: unsupported digest algorithm MD5/, 'vm.mf');
    assertManifestError(() => parseManifest(`SHA1(a)= ${sha('sha256', 'x')}\r\n`, 'vm.mf'), /line 1: a SHA1 digest has 40 hex digits, this one has 64/, 'vm.mf');
    assertManifestError(() => parseManifest(`SHA256(a)= ${'g'.repeat(64)}`, 'vm.mf'), /line 1: the digest is not hexadecimal/, 'vm.mf');
    assertManifestError(() => parseManifest('SHA256()= 00', 'vm.mf'), /line 1/, 'vm.mf');
  });

  it('rejects a megabyte-long pathological line in linear time (no regex backtracking)', () => {
    const start = performance.now();
    assertManifestError(() => parseManifest(`SHA256(${')='.repeat(500_000)}= zz`, 'vm.mf'), /vm\.mf line 1: not a digest line/, 'vm.mf');
    assert.ok(performance.now() - start < 500, `took ${performance.now() - start} ms`);
  });
});

/** Builds a directory package (vm.ovf, vm.mf, disk1.vmdk) and returns its directory. */
async function makePackage(dir: string, manifestName = 'vm.mf'): Promise<string> {
  const pkg = join(dir, 'pkg');
  await mkdir(pkg, { recursive: true });
  await writeFile(join(pkg, 'vm.ovf'), '<Envelope/>\n');
  await writeFile(join(pkg, 'disk1.vmdk'), disk);
  await writeFile(join(pkg, manifestName), `SHA256(disk1.vmdk)= ${sha('sha256', disk)}\nSHA1(vm.ovf)= ${sha('sha1', '<Envelope/>\n')}\n`);
  return pkg;
}

describe('findManifest', () => {
  it('finds the .mf named like the descriptor, else the single .mf, else nothing', async () => {
    await withTempDir(async (dir) => {
      const pkg = await makePackage(dir);
      assert.equal(findManifest(await openArchive(pkg)), 'vm.mf');
      const ova = join(dir, 'vm.ova');
      makeTar(ova, pkg, ['vm.ovf', 'vm.mf', 'disk1.vmdk'], 'ustar');
      assert.equal(findManifest(await openArchive(ova)), 'vm.mf');
      const other = await makePackage(join(dir, 'b'), 'checksums.mf');
      assert.equal(findManifest(await openArchive(other)), 'checksums.mf');
      const bare = join(dir, 'bare.ova');
      makeTar(bare, pkg, ['vm.ovf', 'disk1.vmdk'], 'ustar');
      assert.equal(findManifest(await openArchive(bare)), undefined);
    });
  });
});

describe('verifyEntry', () => {
  it('passes on correct digests, streaming with progress, for a directory and an OVA', async () => {
    await withTempDir(async (dir) => {
      const pkg = await makePackage(dir);
      const ova = join(dir, 'vm.ova');
      makeTar(ova, pkg, ['vm.ovf', 'vm.mf', 'disk1.vmdk'], 'gnu');
      for (const archive of [await openArchive(pkg), await openArchive(ova)]) {
        const entries = parseManifest((await archive.readSmall('vm.mf')).toString('utf8'), 'vm.mf');
        const progress: number[] = [];
        await verifyEntry(archive, entries[0] as ManifestEntry, (n) => progress.push(n));
        assert.ok(progress.length >= 4, `several chunks reported (${progress.length})`);
        assert.equal(progress.at(-1), disk.length);
        assert.deepEqual([...progress].sort((a, b) => a - b), progress);
        await verifyEntry(archive, entries[1] as ManifestEntry);
      }
    });
  });

  it('fails naming the file, expected and actual digests on a mismatch, and on a missing file', async () => {
    await withTempDir(async (dir) => {
      const archive = await openArchive(await makePackage(dir));
      const wrong: ManifestEntry = { algorithm: 'sha256', name: 'disk1.vmdk', digest: 'ab'.repeat(32), line: 4 };
      await assert.rejects(verifyEntry(archive, wrong), (err: unknown) => {
        assert.ok(err instanceof ManifestError);
        assert.equal(err.file, 'disk1.vmdk');
        assert.match(err.message, new RegExp(`disk1\\.vmdk.*line 4.*expects ${'ab'.repeat(32)}.*has ${sha('sha256', disk)}`));
        return true;
      });
      const missing: ManifestEntry = { ...wrong, name: 'gone.vmdk' };
      await assert.rejects(verifyEntry(archive, missing), (err: unknown) => err instanceof ManifestError && /gone\.vmdk/.test(err.message));
      const url: ManifestEntry = { ...wrong, name: 'http://example.com/x' };
      await assert.rejects(verifyEntry(archive, url), (err: unknown) => err instanceof PackageError && err.file === url.name);
    });
  });

  it('honours an AbortSignal, before and during the read', async () => {
    await withTempDir(async (dir) => {
      const archive = await openArchive(await makePackage(dir));
      const entry: ManifestEntry = { algorithm: 'sha512', name: 'disk1.vmdk', digest: '0'.repeat(128), line: 1 };
      const reason = new Error('stop now');
      await assert.rejects(verifyEntry(archive, entry, undefined, AbortSignal.abort(reason)), (err) => err === reason);
      const controller = new AbortController();
      let calls = 0;
      const onProgress = (): void => {
        calls++;
        controller.abort(reason);
      };
      await assert.rejects(verifyEntry(archive, entry, onProgress, controller.signal), (err) => err === reason);
      assert.equal(calls, 1, 'reading stopped after the abort');
    });
  });
});
