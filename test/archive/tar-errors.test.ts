// indexTar failures on damaged or foreign files, and GNU base-256 numeric fields.

import assert from 'node:assert/strict';
import { readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PackageError } from '../../src/errors.js';
import { indexTar } from '../../src/archive/tar.js';
import { isTarHeaderBlock, parseNumeric } from '../../src/archive/tar-format.js';
import { makeTar, pseudoRandom, readAt, withTempDir } from './helpers.js';
import { memberBytes, paxBytes, tarOf } from './tar-writer.js';

/** Writes a.txt (small) and big.bin (100000 bytes) under `dir` and tars them as dir/t.tar. */
async function twoMemberTar(dir: string, format = 'ustar'): Promise<string> {
  await writeFile(join(dir, 'a.txt'), 'first member\n');
  await writeFile(join(dir, 'big.bin'), pseudoRandom(100_000));
  const tarPath = join(dir, 't.tar');
  makeTar(tarPath, dir, ['a.txt', 'big.bin'], format);
  return tarPath;
}

/** Asserts that indexTar(path) rejects with a PackageError naming `path` and matching `message`. */
async function assertFails(path: string, message: RegExp): Promise<void> {
  await assert.rejects(indexTar(path), (err: unknown) => {
    assert.ok(err instanceof PackageError, `expected PackageError, got ${String(err)}`);
    assert.equal(err.file, path);
    assert.match(err.message, message);
    return true;
  });
}

/** Recomputes the checksum of the 512-byte header at `at` in `bytes` (six octal digits, NUL, space). */
function fixChecksum(bytes: Buffer, at: number): void {
  bytes.fill(0x20, at + 148, at + 156);
  let sum = 0;
  for (let i = at; i < at + 512; i++) sum += bytes[i] ?? 0;
  bytes.write(`${sum.toString(8).padStart(6, '0')}\0 `, at + 148, 'latin1');
}

describe('indexTar errors', () => {
  it('rejects a truncated archive cut inside member data', async () => {
    await withTempDir(async (dir) => {
      const tarPath = await twoMemberTar(dir);
      const big = (await indexTar(tarPath)).members.find((m) => m.name === 'big.bin');
      assert.ok(big);
      await truncate(tarPath, big.offset + 5_000);
      await assertFails(tarPath, /truncated archive.*big\.bin/);
    });
  });

  it('rejects a header that is cut short', async () => {
    await withTempDir(async (dir) => {
      const tarPath = await twoMemberTar(dir);
      const big = (await indexTar(tarPath)).members.find((m) => m.name === 'big.bin');
      assert.ok(big);
      await truncate(tarPath, big.offset - 512 + 100);
      await assertFails(tarPath, /header at byte \d+ is cut short/);
    });
  });

  it('rejects a file that is not a tar archive, and an empty file', async () => {
    await withTempDir(async (dir) => {
      const text = join(dir, 'notes.ova');
      await writeFile(text, '<?xml version="1.0"?>\n<Envelope/>\n'.repeat(40));
      await assertFails(text, /not a tar archive/);
      const short = join(dir, 'short.tar');
      await writeFile(short, 'tiny');
      await assertFails(short, /not a tar archive/);
      const empty = join(dir, 'empty.tar');
      await writeFile(empty, '');
      await assertFails(empty, /not a tar archive/);
    });
  });

  it('rejects a later header whose checksum does not match', async () => {
    await withTempDir(async (dir) => {
      const tarPath = await twoMemberTar(dir);
      const big = (await indexTar(tarPath)).members.find((m) => m.name === 'big.bin');
      assert.ok(big);
      const bytes = await readFile(tarPath);
      bytes[big.offset - 512] = 'B'.charCodeAt(0); // rename without fixing the checksum
      await writeFile(tarPath, bytes);
      await assertFails(tarPath, new RegExp(`bad tar header checksum at byte ${big.offset - 512}`));
    });
  });

  it('rejects a pax size that is not decimal digits; an empty one falls back to the header', async () => {
    await withTempDir(async (dir) => {
      const tarPath = join(dir, 'pax.tar');
      for (const size of ['1e3', '0x10', ' 12', '-1', '12345678901234567']) {
        await writeFile(tarPath, tarOf(paxBytes({ size }), memberBytes({ name: 'a.txt', data: 'abc' })));
        await assertFails(tarPath, /bad pax size for the member at byte 1024/);
      }
      await writeFile(tarPath, tarOf(paxBytes({ size: '' }), memberBytes({ name: 'a.txt', data: 'abc' })));
      assert.deepEqual((await indexTar(tarPath)).members.map((m) => [m.name, m.size]), [['a.txt', 3]]);
    });
  });

  it('reads a size written in GNU base-256', async () => {
    await withTempDir(async (dir) => {
      const tarPath = await twoMemberTar(dir, 'gnu');
      const before = (await indexTar(tarPath)).members;
      const big = before.find((m) => m.name === 'big.bin');
      assert.ok(big);
      const bytes = await readFile(tarPath);
      const at = big.offset - 512;
      const field = Buffer.alloc(12);
      field[0] = 0x80;
      field.writeUIntBE(100_000, 6, 6);
      field.copy(bytes, at + 124);
      fixChecksum(bytes, at);
      await writeFile(tarPath, bytes);
      assert.ok(isTarHeaderBlock(bytes.subarray(at, at + 512)));
      const after = (await indexTar(tarPath)).members.find((m) => m.name === 'big.bin');
      assert.deepEqual(after, big);
      assert.ok((await readAt(tarPath, big.offset, 10)).equals(pseudoRandom(10)));
    });
  });
});

describe('parseNumeric', () => {
  it('decodes octal fields with spaces and NULs', () => {
    assert.equal(parseNumeric(Buffer.from('00000000764\0', 'latin1')), 0o764);
    assert.equal(parseNumeric(Buffer.from('   764 \0', 'latin1')), 0o764);
    assert.equal(parseNumeric(Buffer.alloc(12)), 0);
    assert.equal(parseNumeric(Buffer.from('77777777777\0', 'latin1')), 8 ** 11 - 1);
  });

  it('decodes base-256 and refuses negative or garbage fields', () => {
    const big = Buffer.alloc(12);
    big[0] = 0x80;
    big.writeUIntBE(12 * 1024 ** 3, 6, 6); // 12 GiB, beyond 11 octal digits
    assert.equal(parseNumeric(big), 12 * 1024 ** 3);
    assert.equal(parseNumeric(Buffer.from([0xff, 0xff, 0xff, 0xff])), undefined);
    assert.equal(parseNumeric(Buffer.from('12x4\0', 'latin1')), undefined);
  });
});
