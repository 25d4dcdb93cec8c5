// Hostile compression, end to end (issue 4, hostile input 8): a gzip bomb is capped by the
// declared capacity and its temporary file removed; unknown or corrupt compression is refused.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { poolVolumes } from '../commands/helpers.js';
import { assertQemuCalls, assertRefused, dropImport } from './checks.js';
import { baseFiles, packOva, setUp, tearDown, type Scene } from './kit.js';
import { importPkg, type Run } from './run.js';

const MiB = 2 ** 20;

describe('compressed disks are capped and checked', () => {
  let s: Scene;
  let bomb: Buffer;
  let bombRun: Run | undefined;

  before(async () => {
    s = await setUp('gzip');
    // 64 concatenated gzip members (RFC 1952 2.2) of 16 MiB of zeros each: ~1 MB that expands to 1 GiB.
    const member = gzipSync(Buffer.alloc(16 * MiB), { level: 9 });
    bomb = Buffer.concat(Array.from({ length: 64 }, () => member));
    assert.ok(bomb.length < 2 * MiB, `bomb is ${bomb.length} bytes`);
  });
  after(() => tearDown(s));

  test('8. a gzip bomb (1 GiB of zeros) behind ovf:capacity 1 MiB: exit 3, its temporary file removed', async () => {
    const ova = await packOva(s, 'bomb', baseFiles(s, { compression: 'gzip', capacity: MiB }, bomb));
    const run = await importPkg(s, ova);
    bombRun = run;
    // The temporary copy goes into TMPDIR (never the pool directory); both must be clean.
    await assertRefused(s, run, { code: 3, message: [/File "app-disk1\.vmdk": expands beyond [\d.]+ bytes, more than its disk can hold/], qemu: 'none', maxMs: 30_000 });
  });

  test('8. the bomb with --tmpdir: the temporary directory there is removed too', async () => {
    const ova = join(s.pkgDir, 'bomb.ova');
    const run = await importPkg(s, ova, { args: ['--tmpdir', join(s.work, 'tmp')] });
    await assertRefused(s, run, { code: 3, message: [/File "app-disk1\.vmdk": expands beyond/], qemu: 'none', maxMs: 30_000 });
  });

  test(
    '8. the cap in the bomb message is a whole number of bytes',
    () => {
      assert.ok(bombRun, 'the bomb case ran');
      assert.match(bombRun.stderr, /expands beyond \d+ bytes,/);
    },
  );

  test('8. an unknown ovf:compression ("bzip2")', async () => {
    const ova = await packOva(s, 'bzip2', baseFiles(s, { compression: 'bzip2' }));
    const run = await importPkg(s, ova);
    await assertRefused(s, run, { code: 3, message: [/File "app-disk1\.vmdk": unknown ovf:compression "bzip2" \(only gzip is defined\)/] });
  });

  test('8. ovf:compression="gzip" on data that is not gzip', async () => {
    const ova = await packOva(s, 'not-gzip', baseFiles(s, { compression: 'gzip' }));
    const run = await importPkg(s, ova);
    await assertRefused(s, run, { code: 3, message: [/File "app-disk1\.vmdk": cannot decompress it: incorrect header check/] });
  });

  test('control: an honest gzip-compressed disk imports, and its temporary file is removed', async () => {
    const ova = await packOva(s, 'honest', baseFiles(s, { compression: 'gzip' }, gzipSync(await readFile(s.base.vmdk))));
    const run = await importPkg(s, ova);
    try {
      assert.equal(run.code, 0, run.stderr);
      assertQemuCalls(s, run);
      const added = (await poolVolumes(s.pool)).filter((v) => !run.before.pool.includes(v));
      assert.deepEqual(added, [`${run.name}-vmdisk1.qcow2`], 'only the volume, no temporary directory, is left in the pool');
    } finally {
      await dropImport(s, run);
    }
  });
});
