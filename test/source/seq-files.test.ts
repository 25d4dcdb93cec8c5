// Files of a package read in one pass (issue 11): ovf:chunkSize parts joined in order as they pass,
// parts out of order refused, a member never seen refused at the end, an unreferenced member
// drained and hashed, zip members whose sizes follow their data (a file: central directory; a pipe: refused).
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { closeScratch, domainExists, openScratch, poolVolumes, runCli } from '../commands/helpers.js';
import { uniqueName, type ScratchPool } from '../libvirt/harness.js';
import { packAppliance, runPiped, sameContent, type Packed } from './seq-kit.js';

describe('the files of a one-pass package', () => {
  let pool: ScratchPool;
  let work: string;
  let packed: Packed;
  let vmdk: Buffer;
  let ovf: string;
  const domains: string[] = [];
  const CHUNK = 48 * 1024;

  before(async () => {
    ({ pool, work } = await openScratch('seq-files', { network: true }));
    packed = await packAppliance(join(work, 'app'));
    vmdk = await readFile(packed.app.vmdk);
    ovf = await readFile(packed.app.ovf, 'utf8');
  });
  after(() => closeScratch(pool, work, domains));

  /** A tar.gz of `files` (name → bytes) in the order given. */
  async function targz(label: string, files: [string, Buffer | string][]): Promise<string> {
    const dir = join(work, label);
    await mkdir(dir);
    for (const [name, data] of files) await writeFile(join(dir, name), data);
    const path = join(work, `${label}.ova.gz`);
    await execa('tar', ['--format=ustar', '-czf', path, '-C', dir, ...files.map(([n]) => n)]);
    return path;
  }

  /** The disk's chunks as `[name, bytes]`, and the descriptor declaring ovf:chunkSize. */
  function chunked(): { ovf: string; parts: [string, Buffer][] } {
    const parts: [string, Buffer][] = [];
    for (let i = 0; i * CHUNK < vmdk.length; i++) parts.push([`appliance-disk1.vmdk.${String(i).padStart(9, '0')}`, vmdk.subarray(i * CHUNK, (i + 1) * CHUNK)]);
    return { ovf: ovf.replace(/ovf:id="file1" ovf:size="\d+"/, `ovf:chunkSize="${CHUNK}" ovf:id="file1" ovf:size="${vmdk.length}"`), parts };
  }

  /** Imports `pkg` piped into `import -`; on failure asserts nothing was left. */
  async function piped(pkg: string, name: string): Promise<{ code: number; stderr: string }> {
    const before = await poolVolumes(pool);
    domains.push(name);
    const r = await runPiped(['import', '-', '--pool', pool.name, '--name', name, '--virt-type', 'qemu'], pkg);
    if (r.code !== 0) {
      assert.deepEqual(await poolVolumes(pool), before, `the pool changed:\n${r.stderr}`);
      assert.equal(domainExists(name), false);
    }
    return r;
  }

  test('a disk split with ovf:chunkSize is joined as its parts stream by: the volume holds the disk', async () => {
    const c = chunked();
    assert.ok(c.parts.length >= 3, 'the disk spans several chunks');
    const name = uniqueName('seq-chunks');
    const r = await piped(await targz('chunks', [['appliance.ovf', c.ovf], ...c.parts]), name);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(await sameContent(packed.app.rawDisk, join(pool.path, `${name}-vmdisk1.qcow2`)));
  });

  test('chunks out of order are refused, nothing left', async () => {
    const c = chunked();
    const [a, b, ...rest] = c.parts;
    const r = await piped(await targz('chunks-swapped', [['appliance.ovf', c.ovf], b!, a!, ...rest]), uniqueName('seq-swap'));
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /File "appliance-disk1\.vmdk": chunk appliance-disk1\.vmdk\.000000001 comes where appliance-disk1\.vmdk\.000000000 was expected; the chunks of a file must follow each other in order/);
  });

  test('a file the descriptor references that never comes is refused at the end, nothing left', async () => {
    const r = await piped(await targz('missing', [['appliance.ovf', ovf], ['other.txt', 'x\n']]), uniqueName('seq-missing'));
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /-: no member named "appliance-disk1\.vmdk": the descriptor references it, but the package ended without it/);
  });

  test('a member the descriptor does not reference is drained and hashed: a wrong digest of it refuses the package', async () => {
    const extra = Buffer.alloc(300_000, 7);
    const digest = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
    const mf = (extraDigest: string) => `SHA256(appliance.ovf)= ${digest(ovf)}\nSHA256(appliance-disk1.vmdk)= ${digest(vmdk)}\nSHA256(notes.bin)= ${extraDigest}\n`;
    const good = await targz('extra-good', [['appliance.ovf', ovf], ['appliance.mf', mf(digest(extra))], ['appliance-disk1.vmdk', vmdk], ['notes.bin', extra]]);
    const ok = await piped(good, uniqueName('seq-extra'));
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /Manifest appliance\.mf: 3 file\(s\) verified/);
    const bad = await targz('extra-bad', [['appliance.ovf', ovf], ['appliance.mf', mf(digest('other'))], ['appliance-disk1.vmdk', vmdk], ['notes.bin', extra]]);
    const r = await piped(bad, uniqueName('seq-extra-bad'));
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /notes\.bin: SHA256 digest mismatch: the manifest \(line 3\) expects/);
  });

  test('zip members with a data descriptor: from a file the central directory gives their sizes; from a pipe they are refused', async () => {
    const zip = join(work, 'descriptors.zip');
    await execa('zip', ['-q', '-X', '-fd', zip, 'appliance.ovf', 'appliance.mf', 'appliance-disk1.vmdk'], { cwd: join(work, 'app') });
    const name = uniqueName('seq-zip-fd');
    domains.push(name);
    const fromFile = await runCli(['import', zip, '--pool', pool.name, '--name', name, '--virt-type', 'qemu']);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.ok(await sameContent(packed.app.rawDisk, join(pool.path, `${name}-vmdisk1.qcow2`)));
    const r = await piped(zip, uniqueName('seq-zip-pipe'));
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /-: zip member "appliance\.ovf" gives its sizes only after its data \(a data descriptor, as zip tools write to a pipe\), which a one-pass read cannot use/);
  });

  test('a qcow2 disk from a pipe: inspect says it will be copied; import spills it to the temporary directory and leaves it empty', async () => {
    const dir = join(work, 'qcow2');
    await mkdir(dir);
    await execa('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', packed.app.rawDisk, join(dir, 'appliance-disk1.qcow2')]);
    const qovf = ovf
      .replace(/appliance-disk1\.vmdk/g, 'appliance-disk1.qcow2')
      .replace(/ovf:size="\d+"/, '')
      .replace(/ovf:format="[^"]+"/, 'ovf:format="http://www.gnome.org/~markmc/qcow-image-format.html"');
    await writeFile(join(dir, 'appliance.ovf'), qovf);
    const ova = join(work, 'qcow2.ova');
    await execa('tar', ['--format=ustar', '-cf', ova, '-C', dir, 'appliance.ovf', 'appliance-disk1.qcow2']);
    const inspect = await runPiped(['inspect', '-', '--json'], ova);
    assert.equal(inspect.code, 0, inspect.stderr);
    const warnings = (JSON.parse(inspect.stdout) as { warnings: string[] }).warnings;
    assert.ok(warnings.some((w) => /File "appliance-disk1\.qcow2" \(qcow2\) needs random access, so it is copied: a sparse temporary file/.test(w)), warnings.join('\n'));
    const tmp = join(work, 'tmp-qcow2');
    await mkdir(tmp);
    const name = uniqueName('seq-qcow2');
    domains.push(name);
    const r = await runPiped(['import', '-', '--pool', pool.name, '--name', name, '--virt-type', 'qemu'], ova, { env: { TMPDIR: tmp } });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(await sameContent(packed.app.rawDisk, join(pool.path, `${name}-vmdisk1.qcow2`)));
    assert.deepEqual(await readdir(tmp), [], 'the temporary copy was removed');
  });
});
