// The one-pass readers on their own (no libvirt): the streamed tar sees the members the indexed
// reader sees, a zip member failing its CRC-32 is refused, and an xz child dies with its stream.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { openStreamPackage } from '../../src/archive/stream-package.js';
import { indexTar } from '../../src/archive/tar.js';
import { decompress } from '../../src/source/decompress.js';
import { readMember } from '../../src/source/sequential-reader.js';
import { packAppliance, type Packed } from './seq-kit.js';

describe('one-pass readers', () => {
  let work: string;
  let packed: Packed;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'virt-ovf-seq-reader-'));
    packed = await packAppliance(join(work, 'app'));
  });
  after(() => rm(work, { recursive: true, force: true }));

  /** Every member of `file` read in one pass: name, size and the bytes. */
  async function members(file: string): Promise<{ name: string; size: number; data: Buffer }[]> {
    const pkg = await openStreamPackage(createReadStream(file), file, () => undefined);
    const out: { name: string; size: number; data: Buffer }[] = [];
    for await (const m of pkg.members) out.push({ name: m.name, size: m.size, data: await readMember(m) });
    return out;
  }

  test('every packing yields the members of the indexed tar, byte for byte', async () => {
    const tar = await readFile(packed.tar);
    const indexed = (await indexTar(packed.tar)).members.filter((m) => m.type === 'file');
    for (const file of [packed.tar, packed.gzip, packed.xz, packed.zstd, packed.zip]) {
      const got = await members(file);
      assert.deepEqual(got.map((m) => [m.name, m.size]), indexed.map((m) => [m.name, m.size]), file);
      for (const [i, m] of indexed.entries()) assert.ok(got[i]!.data.equals(tar.subarray(m.offset, m.offset + m.size)), `${file}: ${m.name}`);
    }
  });

  test('a zip member whose bytes fail their CRC-32 is refused, naming it', async () => {
    const zip = await readFile(packed.zip);
    const at = zip.indexOf('appliance.ovf') + 'appliance.ovf'.length + 40;
    const bad = join(work, 'crc.zip');
    const copy = Buffer.from(zip);
    copy[at] = (copy[at] ?? 0) ^ 0xff;
    await writeFile(bad, copy);
    await assert.rejects(members(bad), /zip member "appliance\.ovf" (fails its CRC-32 check|holds corrupt deflate data)/);
  });

  test('the xz child dies when its stream is destroyed half way', async () => {
    const big = join(work, 'big.xz');
    await execa('sh', ['-c', `head -c 64000000 /dev/urandom | xz -0 -T1 > ${big}`]);
    const out = decompress(createReadStream(big), 'xz', big);
    const first = await new Promise<Buffer>((resolve) => out.once('data', resolve));
    assert.ok(first.length > 0);
    const before = String((await execa('pgrep', ['-P', String(process.pid), '-f', '^xz -dc -T0'], { reject: false })).stdout).trim();
    assert.notEqual(before, '', 'xz runs while the stream is read');
    out.destroy();
    for (let i = 0; i < 50; i++) {
      const left = String((await execa('pgrep', ['-P', String(process.pid), '-f', 'xz'], { reject: false })).stdout).trim();
      if (left === '') return;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail('xz is still running after its output stream was destroyed');
  });

  test('a stream that is no package is refused as not a tar archive', async () => {
    const pkg = await openStreamPackage(Readable.from([Buffer.from('hello, this is no tar archive at all'.padEnd(600, '.'))]), 'junk', () => undefined);
    await assert.rejects(pkg.members.next(), /junk: not a tar archive \(no valid tar header at byte 0\)/);
  });
});
