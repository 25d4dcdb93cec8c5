// What a one-pass import refuses or checks late (issue 11): a manifest after the disks (right:
// imported; wrong: rolled back, exit as the indexed import's mismatch), the descriptor not first,
// a corrupt xz stream, SIGINT while the disk streams, a terminal on standard input.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { closeScratch, domainExists, openScratch, poolVolumes, runCli } from '../commands/helpers.js';
import { assertCleanupFindsNothing } from '../faults/cleanup-check.js';
import { uniqueName, type ScratchPool } from '../libvirt/harness.js';
import { ptyAvailable, runInPty } from '../render/pty.js';
import { packAppliance, runPiped, type Packed } from './seq-kit.js';

describe('a one-pass import checks late what comes late, and leaves nothing when it refuses', () => {
  let pool: ScratchPool;
  let work: string;
  let packed: Packed;
  const domains: string[] = [];

  before(async () => {
    ({ pool, work } = await openScratch('seq-refusals', { network: true }));
    packed = await packAppliance(join(work, 'app'));
  });
  after(async () => {
    await closeScratch(pool, work, domains);
    await assertCleanupFindsNothing();
  });

  /** A ustar OVA of the appliance's files in `order`, the manifest replaced by `mf` when given. */
  async function ova(label: string, order: string[], mf?: string): Promise<string> {
    const dir = join(work, 'app');
    if (mf !== undefined) await writeFile(join(dir, 'appliance.mf'), mf);
    const path = join(work, `${label}.ova`);
    await execa('tar', ['--format=ustar', '-cf', path, '-C', dir, ...order]);
    if (mf !== undefined) await writeFile(join(dir, 'appliance.mf'), await readFile(packed.app.mf!));
    return path;
  }

  /** Runs `import - ...` with `pkg` piped in, and asserts the refusal left the pool and libvirt as they were. */
  async function refusedPiped(pkg: string, name: string): Promise<{ code: number; stderr: string }> {
    const before = await poolVolumes(pool);
    const r = await runPiped(['import', '-', '--pool', pool.name, '--name', name, '--virt-type', 'qemu'], pkg);
    assert.deepEqual(await poolVolumes(pool), before, `the pool changed:\n${r.stderr}`);
    assert.equal(domainExists(name), false, `domain ${name} was left`);
    assert.doesNotMatch(r.stderr, /^\s+at /m, 'a stack trace');
    return r;
  }

  test('a manifest after the disks is checked at the end: a right one imports', async () => {
    const name = uniqueName('seq-late-mf');
    domains.push(name);
    const r = await runPiped(['import', '-', '--pool', pool.name, '--name', name, '--virt-type', 'qemu'], await ova('late-good', ['appliance.ovf', 'appliance-disk1.vmdk', 'appliance.mf']));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Manifest appliance\.mf: 2 file\(s\) verified over the streamed bytes/);
    assert.ok(domainExists(name));
  });

  test('a wrong manifest after the disks rolls the converted disk back, with the exit of the indexed import’s mismatch', async () => {
    const good = await readFile(packed.app.mf!, 'utf8');
    const wrong = good.replace(/(appliance-disk1\.vmdk\)= )([0-9a-f])/, (_, head: string, c: string) => `${head}${c === '0' ? '1' : '0'}`);
    const pkg = await ova('late-wrong', ['appliance.ovf', 'appliance-disk1.vmdk', 'appliance.mf'], wrong);
    const name = uniqueName('seq-late-bad');
    const r = await refusedPiped(pkg, name);
    assert.match(r.stderr, /appliance-disk1\.vmdk: SHA256 digest mismatch: the manifest \(line 2\) expects/);
    assert.match(r.stderr, /Converting disk .* as it streams by/, 'the disk was converted before the manifest came');
    assert.match(r.stderr, /Rolled back: volume/);
    const indexed = await runCli(['import', pkg, '--pool', pool.name, '--name', name, '--virt-type', 'qemu']);
    assert.match(indexed.stderr, /SHA256 digest mismatch/);
    assert.equal(r.code, indexed.code);
    assert.equal(r.code, 3);
  });

  test('a package whose first member is not the descriptor is refused (DSP0243 5.3), nothing created', async () => {
    const r = await refusedPiped(await ova('disk-first', ['appliance-disk1.vmdk', 'appliance.ovf', 'appliance.mf']), uniqueName('seq-order'));
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /-: the first file of the package is "appliance-disk1\.vmdk", not the OVF descriptor; DSP0243 \(section 5\.3\) requires the descriptor to be the first file of an OVA/);
  });

  test('a corrupt xz stream is a clear package error, nothing created', async () => {
    const bytes = await readFile(packed.xz);
    bytes.fill(0x55, 200, 260);
    const corrupt = join(work, 'corrupt.ova.xz');
    await writeFile(corrupt, bytes);
    const r = await refusedPiped(corrupt, uniqueName('seq-xz'));
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /-: the xz-compressed package cannot be decompressed: xz: \(stdin\): (Compressed data is corrupt|File format not recognized|Unexpected end of input)/);
  });

  test('SIGINT while the disk streams in: exit 130, nothing left', async () => {
    const name = uniqueName('seq-sigint');
    const tar = await readFile(packed.tar);
    const before = await poolVolumes(pool);
    let sent = false;
    const r = await runPiped(['import', '-', '--pool', pool.name, '--name', name, '--virt-type', 'qemu'], packed.tar, {
      // Everything but the last 16 KiB, then the pipe stays open and silent: the disk is mid-stream.
      feed: async (stdin) => void stdin.write(tar.subarray(0, tar.length - 16384)),
      onStderr: (text, child) => {
        if (!sent && /as it streams by/.test(text)) {
          sent = true;
          setTimeout(() => child.kill('SIGINT'), 300);
        }
      },
    });
    assert.ok(sent, `the disk never started streaming:\n${r.stderr}`);
    assert.equal(r.code, 130, r.stderr);
    assert.deepEqual(await poolVolumes(pool), before, 'the pool changed');
    assert.equal(domainExists(name), false);
  });

  test('a terminal on standard input is refused with how to pipe a package in (exit 2)', async (t) => {
    if (!(await ptyAvailable())) return t.skip('util-linux script(1) cannot run a command on a pty here');
    const run = await runInPty(['import', '-', '--pool', pool.name]);
    assert.equal(run.code, 2, run.output);
    assert.match(run.output, /standard input, which is a terminal here; pipe the OVA in \(cat app\.ova \| virt-ovf import -\)/);
  });

  test('an empty pipe is no package (exit 3)', async () => {
    const empty = join(work, 'empty');
    await writeFile(empty, '');
    const r = await refusedPiped(empty, uniqueName('seq-empty'));
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /-: not a tar archive: the file is empty/);
  });
});
