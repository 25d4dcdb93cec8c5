// The streaming import path end to end on a real libvirtd (issue 11): gzip-compressed and chunked
// streamOptimized VMDK and raw members decoded straight into the volume — identical to the source
// disk, no qemu-img convert, not one byte in the temporary directory — the same bytes with
// --converter qemu-img, and corrupt, tampered or interrupted imports leaving nothing.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { watch } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';
import { buildAppliance } from '../../scripts/appliance.js';
import { assertRefused, dropImport } from '../hostile/checks.js';
import { editOvf, FMT, packOva, setUp, tearDown, type Content, type Scene } from '../hostile/kit.js';
import { importPkg, type Run } from '../hostile/run.js';

/** The chunk size that splits `bytes` into three parts. */
const chunkSize = (bytes: Buffer): number => Math.ceil(bytes.length / 3);

/** `bytes` split into ovf:chunkSize parts named `href.000000000`, … (DSP0243 10.3). */
function chunks(href: string, bytes: Buffer): Record<string, Content> {
  const size = chunkSize(bytes);
  const out: Record<string, Content> = {};
  for (let i = 0; i * size < bytes.length; i++) out[`${href}.${String(i).padStart(9, '0')}`] = bytes.subarray(i * size, (i + 1) * size);
  assert.equal(Object.keys(out).length, 3, 'the file spans three chunks');
  return out;
}

/** The descriptor with the file chunked (ovf:chunkSize for `bytes`) and its ovf:size dropped (the parts give the sizes). */
function chunkedOvf(ovf: string, bytes: Buffer): string {
  const t = ovf.replace(/ovf:id="file1"( ovf:size="\d+")?/, `ovf:chunkSize="${chunkSize(bytes)}" ovf:id="file1"`);
  assert.ok(t.includes('ovf:chunkSize'), 'chunkSize edit applied');
  return t;
}

describe('streamed disks are decoded straight into the volume', () => {
  let s: Scene;
  let vmdk: Buffer;
  let raw: Buffer;
  let tempDir: string;

  before(async () => {
    s = await setUp('stream');
    vmdk = await readFile(s.base.vmdk);
    raw = await readFile(s.base.rawDisk);
    tempDir = join(s.work, 'tmpdir');
    await mkdir(tempDir);
  });
  after(() => tearDown(s));

  /** Imports `ova` with --tmpdir on a watched directory; returns the run and the names created in that directory. */
  async function importWatched(ova: string, args: string[] = []): Promise<{ run: Run; seen: string[] }> {
    const seen = new Set<string>();
    const watcher = watch(tempDir, (_event, file) => file && seen.add(String(file)));
    const run = await importPkg(s, ova, { args: ['--tmpdir', tempDir, ...args] }).finally(() => watcher.close());
    return { run, seen: [...seen] };
  }

  /** Asserts the run streamed its disk: exit 0, no qemu-img convert, nothing in the temporary directory, the volume equal to the source disk. */
  async function assertStreamed(run: Run, seen: string[]): Promise<void> {
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.qemu.filter((argv) => argv[0] === 'convert'), [], 'qemu-img convert ran');
    assert.deepEqual(seen, [], 'something was written into the temporary directory');
    await execa('qemu-img', ['compare', '-f', 'raw', '-F', 'qcow2', s.base.rawDisk, join(s.pool.path, `${run.name}-vmdisk1.qcow2`)]);
  }

  const cases: Array<[string, () => Record<string, Content>]> = [
    ['a gzip-compressed streamOptimized VMDK', () => ({ 'app.ovf': editOvf(s.ovf, { compression: 'gzip' }), 'app-disk1.vmdk': gzipSync(vmdk) })],
    ['a chunked streamOptimized VMDK', () => ({ 'app.ovf': chunkedOvf(s.ovf, vmdk), ...chunks('app-disk1.vmdk', vmdk) })],
    ['a gzip-compressed, chunked streamOptimized VMDK', () => ({ 'app.ovf': chunkedOvf(editOvf(s.ovf, { compression: 'gzip' }), gzipSync(vmdk)), ...chunks('app-disk1.vmdk', gzipSync(vmdk)) })],
    ['a gzip-compressed raw disk', () => ({ 'app.ovf': editOvf(s.ovf, { href: 'app-disk1.img', format: FMT.raw, compression: 'gzip', capacity: raw.length }), 'app-disk1.img': gzipSync(raw) })],
    ['a chunked raw disk', () => ({ 'app.ovf': chunkedOvf(editOvf(s.ovf, { href: 'app-disk1.img', format: FMT.raw, capacity: raw.length }), raw), ...chunks('app-disk1.img', raw) })],
  ];
  for (const [what, files] of cases) {
    test(`${what}: identical to the source disk, no qemu-img convert, no temporary bytes`, async () => {
      const ova = await packOva(s, what.replace(/\W+/g, '-'), files());
      const { run, seen } = await importWatched(ova);
      try {
        await assertStreamed(run, seen);
      } finally {
        await dropImport(s, run);
      }
    });
  }

  test('--converter qemu-img converts the same gzip-compressed VMDK with qemu-img (a temporary copy) into the same bytes', async () => {
    const ova = await packOva(s, 'gzip-vmdk-qemu-img', cases[0]![1]());
    const streamed = await importWatched(ova);
    const converted = await importWatched(ova, ['--converter', 'qemu-img']);
    try {
      await assertStreamed(streamed.run, streamed.seen);
      assert.equal(converted.run.code, 0, converted.run.stderr);
      assert.ok(converted.run.qemu.some((argv) => argv[0] === 'convert'), 'qemu-img convert did not run');
      assert.ok(converted.seen.length > 0, 'qemu-img read no temporary copy');
      const volume = (r: Run): string => join(s.pool.path, `${r.name}-vmdisk1.qcow2`);
      await execa('qemu-img', ['compare', '-f', 'qcow2', '-F', 'qcow2', volume(streamed.run), volume(converted.run)]);
    } finally {
      await dropImport(s, streamed.run);
      await dropImport(s, converted.run);
    }
  });

  /** The VMDK with 16 bytes of its first grain's deflate data inverted (after the zlib header). */
  function corrupted(): Buffer {
    const bad = Buffer.from(vmdk);
    const overHead = Number(bad.readBigUInt64LE(64)); // SparseExtentHeader.overHead, in sectors: the first grain marker
    const at = overHead * 512 + 12 + 2;
    for (let i = at; i < at + 16; i++) bad[i] = bad[i]! ^ 0xff;
    return bad;
  }

  for (const [how, files] of [
    ['in place', () => ({ 'app.ovf': s.ovf, 'app-disk1.vmdk': corrupted() })],
    ['gzip-compressed', () => ({ 'app.ovf': editOvf(s.ovf, { compression: 'gzip' }), 'app-disk1.vmdk': gzipSync(corrupted()) })],
  ] as const) {
    test(`a streamOptimized VMDK with a corrupt grain (${how}): exit 3 naming the file, the volume rolled back, nothing left`, async () => {
      const ova = await packOva(s, `corrupt-${how.replace(/\W+/g, '-')}`, files());
      const run = await importPkg(s, ova);
      await assertRefused(s, run, { code: 3, message: [/app-disk1\.vmdk/, new RegExp(`Rolled back: volume ${run.name}-vmdisk1\\.qcow2`)] });
    });
  }

  test('a manifest whose digest of the streamed member is wrong: exit 3 digest mismatch after the single read, rolled back', async () => {
    const gz = gzipSync(vmdk);
    const ovf = editOvf(s.ovf, { compression: 'gzip' });
    const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
    const wrong = sha(Buffer.concat([gz, Buffer.from([0])]));
    const mf = `SHA256(app.ovf)= ${sha(ovf)}\nSHA256(app-disk1.vmdk)= ${wrong}\n`;
    const ova = await packOva(s, 'bad-digest', { 'app.ovf': ovf, 'app.mf': mf, 'app-disk1.vmdk': gz });
    const run = await importPkg(s, ova);
    await assertRefused(s, run, {
      code: 3,
      message: [new RegExp(`app-disk1\\.vmdk: SHA256 digest mismatch: the manifest \\(line 2\\) expects ${wrong}, the file has ${sha(gz)}`), new RegExp(`Rolled back: volume ${run.name}-vmdisk1\\.qcow2`)],
    });
  });

  test('SIGINT while a 256 MiB streamOptimized disk is decoded into its qcow2 volume: exit 130, nothing left, no child on the volume', async () => {
    const big = await buildAppliance({ dir: join(s.work, 'big'), name: 'big', content: 'mixed', diskSizeBytes: 256 * 2 ** 20, manifest: 'none' });
    const run = await importPkg(s, big.ova!, { args: ['--json'], interrupt: { when: /"task":"convert","name":"[^"]+","bytesDone":[1-9]/, signal: 'SIGINT' } });
    assert.ok(run.interrupted, `no decoding progress was seen: ${run.stdout}`);
    await assertRefused(s, run, { code: 130, message: [] });
    assert.match(run.stdout, new RegExp(`Rolled back: volume ${run.name}-vmdisk1\\.qcow2`));
    const ps = (await execa('ps', ['-eo', 'args'])).stdout;
    assert.ok(!ps.includes(`${run.name}-vmdisk1`), 'a qemu-nbd or qemu-img still works on the removed volume');
  });
});
