// createOvaWriter: streamed OVAs read back by virt-ovf's tar index and archive layer and by GNU tar; abort
// and misuse leave nothing behind; members over 8 GiB use GNU base-256 sizes.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openArchive } from '../../src/archive/archive.js';
import { indexTar } from '../../src/archive/tar.js';
import { PackageError, UsageError, VirtOvfError } from '../../src/errors.js';
import { checkManifestCoverage, formatManifest, manifestSize, parseManifest, verifyEntry, type DigestAlgorithm } from '../../src/archive/manifest.js';
import { ustarHeader } from '../../src/archive/tar-format.js';
import { createOvaWriter, type OvaWriter } from '../../src/export/ova-writer.js';
import { parseEnvelope } from '../../src/ovf/parse.js';
import { loadMappings } from '../../src/mapping/load.js';
import type { EnvelopeInput } from '../../src/ovf/model.js';
import { padDescriptor, writeEnvelope } from '../../src/ovf/write.js';
import { pseudoRandom, withTempDir } from '../archive/helpers.js';

const rules = loadMappings().domain.ovf;
const digestOf = (algorithm: string, data: Buffer): string => createHash(algorithm).update(data).digest('hex');

/** A small descriptor naming the disks, with sizes filled in when known. */
function envelope(disks: { href: string; size?: number }[]): EnvelopeInput {
  return {
    references: disks.map((d, i) => ({ id: `file${i + 1}`, href: d.href, ...(d.size !== undefined ? { sizeBytes: d.size } : {}) })),
    disks: disks.map((_, i) => ({ diskId: `vmdisk${i + 1}`, fileRef: `file${i + 1}`, capacityBytes: 2 ** 30 })),
    networks: [],
    virtualSystems: [
      {
        id: 'vm',
        name: 'vm',
        operatingSystem: { id: 101, vmwOsType: 'otherLinux64Guest' },
        hardware: {
          virtualSystemTypes: ['vmx-13'],
          items: [
            { instanceId: '1', resourceType: 3, elementName: '1 virtual CPU(s)', virtualQuantity: '1' },
            { instanceId: '2', resourceType: 4, elementName: '512MB of memory', allocationUnits: 'byte * 2^20', virtualQuantity: '512' },
            { instanceId: '3', resourceType: 20, resourceSubType: 'vmware.sata.ahci', elementName: 'SATA controller 0' },
            ...disks.map((_, i) => ({ instanceId: String(4 + i), resourceType: 17, elementName: `Hard disk ${i + 1}`, hostResource: [`ovf:/disk/vmdisk${i + 1}`], parent: '3', addressOnParent: String(i) })),
          ],
          vmwConfig: { firmware: 'bios' },
        },
      },
    ],
  };
}

/** Streams `data` into a member in the given chunk sizes. */
async function stream(w: OvaWriter, name: string, data: Buffer, chunks: number[]): Promise<{ size: number; digest: string }> {
  const sink = w.beginFile(name);
  let at = 0;
  for (const n of chunks) {
    await sink.write(data.subarray(at, at + n));
    at += n;
  }
  assert.equal(at, data.length);
  return sink.end();
}

/** Builds dir/vm.ova the way export does: OVF and manifest reserved first, disks streamed, then both filled. */
async function buildOva(dir: string, algorithm: DigestAlgorithm = 'sha256'): Promise<{ ova: string; disks: Record<string, Buffer> }> {
  const disks: Record<string, Buffer> = { 'vm-disk1.vmdk': pseudoRandom(71_003, 7), 'vm-disk2.vmdk': Buffer.alloc(0), 'vm-disk3.vmdk': pseudoRandom(1024, 9) };
  const hrefs = Object.keys(disks);
  const ova = join(dir, 'vm.ova');
  const w = await createOvaWriter(ova, { digest: algorithm, mtime: new Date('2024-05-01T12:00:00Z') });
  const bound = Buffer.byteLength(writeEnvelope(envelope(hrefs.map((href) => ({ href }))), { version: 1, placeholders: true, rules }));
  await w.reserve('vm.ovf', bound);
  await w.reserve('vm.mf', manifestSize(algorithm, ['vm.ovf', ...hrefs]));
  const results: { size: number; digest: string }[] = [];
  for (const [href, data] of Object.entries(disks)) results.push(await stream(w, href, data, data.length === 71_003 ? [1000, 512, 69_488, 3] : [data.length]));
  assert.deepEqual(results.map((r) => r.digest), Object.values(disks).map((d) => digestOf(algorithm, d)));
  assert.ok(existsSync(`${ova}.part`) && !existsSync(ova), 'only the .part exists while writing');
  const ovf = await w.fill('vm.ovf', padDescriptor(writeEnvelope(envelope(hrefs.map((href, i) => ({ href, size: results[i]!.size }))), { version: 1, rules }), bound));
  await w.fill('vm.mf', formatManifest(algorithm, [{ name: 'vm.ovf', digest: ovf.digest }, ...hrefs.map((name, i) => ({ name, digest: results[i]!.digest }))]));
  await w.finish();
  return { ova, disks };
}

describe('createOvaWriter: the OVA it writes', () => {
  it("is read by virt-ovf's tar index: members in order, sizes, data at the right offsets", async () => {
    await withTempDir(async (dir) => {
      const { ova, disks } = await buildOva(dir);
      assert.ok(!existsSync(`${ova}.part`), 'the .part is renamed');
      const { members } = await indexTar(ova);
      assert.deepEqual(members.map((m) => m.name), ['vm.ovf', 'vm.mf', ...Object.keys(disks)]);
      const fh = await open(ova, 'r');
      try {
        for (const [name, data] of Object.entries(disks)) {
          const m = members.find((x) => x.name === name)!;
          assert.equal(m.size, data.length);
          const back = Buffer.alloc(m.size);
          await fh.read(back, 0, m.size, m.offset);
          assert.ok(back.equals(data), name);
        }
      } finally {
        await fh.close();
      }
      assert.equal((readFileSync(ova).length - 1024) % 512, 0, 'whole blocks, then two zero blocks');
    });
  });

  it('is listed and extracted by GNU tar with the same bytes and digests as the manifest', async () => {
    await withTempDir(async (dir) => {
      const { ova, disks } = await buildOva(dir);
      const listing = execFileSync('tar', ['-tvf', ova], { encoding: 'utf8' }).trim().split('\n');
      assert.deepEqual(listing.map((l) => l.split(/\s+/).at(-1)), ['vm.ovf', 'vm.mf', ...Object.keys(disks)]);
      assert.match(listing[2]!, /^-rw-r--r-- 0\/0\s+71003 2024-05-01/);
      const out = join(dir, 'x');
      execFileSync('mkdir', [out]);
      execFileSync('tar', ['-xf', ova, '-C', out]);
      assert.deepEqual(readdirSync(out).sort(), ['vm.mf', 'vm.ovf', ...Object.keys(disks)].sort());
      for (const [name, data] of Object.entries(disks)) assert.ok(readFileSync(join(out, name)).equals(data), name);
      const manifest = parseManifest(readFileSync(join(out, 'vm.mf'), 'utf8'), 'vm.mf');
      for (const e of manifest) assert.equal(e.digest, digestOf('sha256', readFileSync(join(out, e.name))), e.name);
    });
  });

  it("passes virt-ovf's package checks: descriptor parsed from the padded region, manifest coverage and digests", async () => {
    for (const algorithm of ['sha1', 'sha256', 'sha512'] as const) {
      await withTempDir(async (dir) => {
        const { ova } = await buildOva(dir, algorithm);
        const archive = await openArchive(ova);
        assert.equal(archive.descriptorName, 'vm.ovf');
        const env = parseEnvelope(await archive.readDescriptor(), 'vm.ovf');
        assert.deepEqual(env.references.map((f) => [f.href, f.sizeBytes]), [['vm-disk1.vmdk', 71_003], ['vm-disk2.vmdk', 0], ['vm-disk3.vmdk', 1024]]);
        const entries = parseManifest((await archive.readSmall('vm.mf')).toString('utf8'), 'vm.mf');
        assert.ok(entries.every((e) => e.algorithm === algorithm));
        checkManifestCoverage(entries, ['vm.ovf', ...env.references.map((f) => f.href)], 'vm.mf');
        for (const e of entries) await verifyEntry(archive, e);
      });
    }
  });

  it('computes no digest when asked for none', async () => {
    await withTempDir(async (dir) => {
      const w = await createOvaWriter(join(dir, 'a.ova'), { digest: 'none' });
      await w.reserve('a.ovf', 10);
      assert.deepEqual(await stream(w, 'a.vmdk', Buffer.from('abc'), [3]), { size: 3, digest: '' });
      assert.deepEqual(await w.fill('a.ovf', Buffer.alloc(10, 0x20)), { size: 10, digest: '' });
      await w.finish();
    });
  });
});

describe('createOvaWriter: failure leaves nothing', () => {
  it('abort closes and removes the .part, at any point, and does nothing after finish', async () => {
    await withTempDir(async (dir) => {
      const ova = join(dir, 'vm.ova');
      const w = await createOvaWriter(ova);
      await w.reserve('vm.ovf', 4096);
      const sink = w.beginFile('vm-disk1.vmdk');
      await sink.write(pseudoRandom(5000));
      await w.abort();
      await w.abort();
      assert.deepEqual(readdirSync(dir), []);
      await assert.rejects(sink.write(Buffer.from('x')), VirtOvfError);
      const done = await createOvaWriter(ova);
      await done.reserve('vm.ovf', 3);
      await done.fill('vm.ovf', Buffer.from('<a/'));
      await done.finish();
      await done.abort();
      assert.deepEqual(readdirSync(dir), ['vm.ova']);
    });
  });

  it('finish never replaces a file that appeared at the OVA path meanwhile; abort removes only the .part', async () => {
    await withTempDir(async (dir) => {
      const ova = join(dir, 'vm.ova');
      const w = await createOvaWriter(ova);
      await w.reserve('vm.ovf', 3);
      await w.fill('vm.ovf', Buffer.from('<a/'));
      writeFileSync(ova, 'theirs');
      await assert.rejects(w.finish(), (err: unknown) => err instanceof UsageError && err.message.includes(`${ova} appeared while exporting`));
      await w.abort();
      assert.deepEqual(readdirSync(dir), ['vm.ova']);
      assert.equal(readFileSync(ova, 'utf8'), 'theirs');
    });
  });

  it('refuses a stale .part instead of overwriting it, naming the remedy', async () => {
    await withTempDir(async (dir) => {
      writeFileSync(join(dir, 'vm.ova.part'), 'stale');
      await assert.rejects(createOvaWriter(join(dir, 'vm.ova')), (err: unknown) => err instanceof PackageError && /already exists.*remove it/.test(err.message));
    });
  });

  it('refuses misuse: a first member that is not the .ovf, bad or duplicate names, overlapping members, mis-sized or missing regions', async () => {
    await withTempDir(async (dir) => {
      const w = await createOvaWriter(join(dir, 'vm.ova'));
      const misuse = (re: RegExp) => (err: unknown) => err instanceof VirtOvfError && re.test(err.message);
      await assert.rejects(w.reserve('vm.mf', 10), misuse(/first member must be the \.ovf/));
      await w.reserve('vm.ovf', 100);
      await assert.rejects(w.reserve('vm.ovf', 100), misuse(/already written/));
      await assert.rejects(w.reserve('../evil.vmdk', 1), misuse(/"\.\." path step/));
      assert.throws(() => w.beginFile('/abs.vmdk'), misuse(/absolute path/));
      const sink = w.beginFile('disk.vmdk');
      assert.throws(() => w.beginFile('other.vmdk'), misuse(/"disk\.vmdk" is still being written/));
      await assert.rejects(w.finish(), misuse(/still being written/));
      await sink.end();
      await assert.rejects(sink.end(), misuse(/already ended/));
      await assert.rejects(w.fill('vm.ovf', Buffer.alloc(99)), misuse(/99 bytes, but 100 were reserved/));
      await assert.rejects(w.fill('vm.mf', Buffer.alloc(1)), misuse(/no region was reserved/));
      await assert.rejects(w.finish(), misuse(/never filled: vm\.ovf/));
      assert.throws(() => ustarHeader(`${'d'.repeat(160)}/${'f'.repeat(20)}`, 0, 0), misuse(/does not fit a ustar header/));
      await w.abort();
    });
  });
});

describe('createOvaWriter: tar headers', () => {
  it('splits long names into the ustar prefix field', async () => {
    await withTempDir(async (dir) => {
      const name = `${'sub/'.repeat(30)}disk.vmdk`;
      const w = await createOvaWriter(join(dir, 'vm.ova'));
      await w.reserve('vm.ovf', 1);
      await stream(w, name, Buffer.from('data'), [4]);
      await w.fill('vm.ovf', Buffer.from(' '));
      await w.finish();
      assert.deepEqual((await indexTar(join(dir, 'vm.ova'))).members.map((m) => m.name), ['vm.ovf', name]);
      assert.match(execFileSync('tar', ['-tf', join(dir, 'vm.ova')], { encoding: 'utf8' }), new RegExp(`${name}\n$`));
    });
  });

  it('writes sizes above 8 GiB - 1 in GNU base-256, which virt-ovf and GNU tar read', async () => {
    await withTempDir(async (dir) => {
      const size = 8 * 2 ** 30 + 5;
      const file = join(dir, 'big.ova');
      const fh = await open(file, 'w');
      await fh.write(ustarHeader('vm.ovf', 0, 0), 0, 512, 0);
      await fh.write(ustarHeader('big.vmdk', size, 0), 0, 512, 512);
      await fh.truncate(1024 + Math.ceil(size / 512) * 512 + 1024); // sparse: no data is written
      await fh.close();
      const { members } = await indexTar(file);
      assert.deepEqual(members.map((m) => [m.name, m.size]), [['vm.ovf', 0], ['big.vmdk', size]]);
      const header = ustarHeader('big.vmdk', size, 0);
      assert.equal(header[124], 0x80);
      assert.match(execFileSync('tar', ['-tvf', file], { encoding: 'utf8' }), new RegExp(`${size} .*big\\.vmdk`));
    });
  });
});
