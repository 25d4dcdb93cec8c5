// Import into an existing volume the admin names (--volume DISK=VOLUME): a raw volume of a dir
// pool and a partition of a disk pool, written raw, never created nor removed; the checks before
// anything is written (missing, qcow2, too small, used by a domain, holding data) and the
// rollback that zeroes its ends again.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { withWrongDiskDigest } from './wrong-digest.js';
import { buildAppliance, type ApplianceResult } from '../../scripts/appliance.js';
import { closeScratch, domainExists, openScratch, removeDomain, runCli, waitForText } from '../commands/helpers.js';
import { diskPool, loopDevicesMissing, type DiskPool } from '../harness/block-pools.js';
import { TEST_URI, uniqueName, type ScratchPool } from '../libvirt/harness.js';

const MiB = 2 ** 20;
const virsh = (...args: string[]) => execa('virsh', ['-c', TEST_URI, ...args], { reject: false });

/** True when every byte of `path` is zero (only its first and last MiB with `ends`). */
async function allZero(path: string, ends = false): Promise<boolean> {
  const bytes = await readFile(path);
  const parts = ends ? [bytes.subarray(0, MiB), bytes.subarray(bytes.length - MiB)] : [bytes];
  return parts.every((p) => p.every((b) => b === 0));
}

describe('import into an existing volume (--volume)', () => {
  let scratch: ScratchPool;
  let work: string;
  let state: string;
  let app: ApplianceResult;
  const marker = `MARKER-EXISTING-${Date.now()}`;
  const domains: string[] = [];
  const vol = (name: string) => join(scratch.path, name);
  const run = (args: string[]) => runCli(args, { env: { VIRT_OVF_STATE_DIR: state } });
  const importArgs = (name: string, ...more: string[]) => ['import', app.ova!, '--pool', scratch.name, '--name', name, '--virt-type', 'qemu', ...more];

  before(async () => {
    ({ pool: scratch, work } = await openScratch('existing-volume', { network: true }));
    state = join(work, 'state');
    await mkdir(state);
    app = await buildAppliance({ dir: join(work, 'app'), marker, diskSizeBytes: 8 * MiB });
    for (const [name, size, format] of [['lun-a.img', '64M', 'raw'], ['lun-b.img', '64M', 'raw'], ['tiny.img', '512K', 'raw'], ['image.qcow2', '64M', 'qcow2']] as const) {
      const r = await virsh('vol-create-as', scratch.name, name, size, '--format', format);
      assert.equal(r.exitCode, 0, String(r.stderr));
    }
  });
  after(async () => {
    for (const d of domains) await removeDomain(d);
    await closeScratch(scratch, work, []);
  });

  test('writes the disk raw into the named volume, keeps its size, points the domain at it, and the domain boots', async () => {
    const name = uniqueName('existing');
    domains.push(name);
    // Old data inside the disk's range but not at the volume's ends (4-5 MiB): the disk's zero ranges must be written as zeros over it.
    await execa('dd', ['if=/dev/urandom', `of=${vol('lun-a.img')}`, 'bs=64K', 'seek=64', 'count=16', 'conv=notrunc']);
    const before = await readdir(scratch.path);
    const serialLog = join(work, `${name}.serial.log`);
    const r = await run(importArgs(name, '--volume', 'vmdisk1=lun-a.img', '--start', '--serial-log', serialLog));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /disk lun-a\.img \(existing volume, written raw\): written here/);
    assert.deepEqual(await readdir(scratch.path), before, 'no volume was created');
    assert.equal((await stat(vol('lun-a.img'))).size, 64 * MiB, 'the volume keeps its size');
    const xml = String((await virsh('dumpxml', name)).stdout);
    assert.match(xml, new RegExp(`<source pool='${scratch.name}' volume='lun-a.img'`));
    assert.match(xml, /<driver name='qemu' type='raw'\/>/);
    const seen = await waitForText(serialLog, marker, 60_000);
    assert.ok(seen.found, `marker not on the serial console after ${seen.elapsedMs} ms`);
    await virsh('destroy', name);
    const disk = await readFile(app.rawDisk);
    const written = (await readFile(vol('lun-a.img'))).subarray(0, disk.length);
    assert.ok(written.equals(disk), 'the volume starts with the disk, byte for byte (old data overwritten by zeros where the disk has none)');
    assert.deepEqual(await readdir(state), [], 'no journal is left');
  });

  test('refuses, before writing anything, a volume used by a domain, missing, qcow2, or too small (exit 4), and a disk the domain lacks (exit 2)', async () => {
    const name = uniqueName('existing-refused');
    const cases: [string, number, RegExp][] = [
      ['vmdisk1=lun-a.img', 4, /volume "lun-a\.img" of pool "[^"]+" \(--volume for disk vmdisk1 \(sda\)\) is a disk of domain "[^"]+": name a volume no domain uses/],
      ['vmdisk1=nothing.img', 4, /pool "[^"]+" has no volume "nothing\.img" \(--volume for disk vmdisk1 \(sda\); its volumes: .*lun-b\.img/],
      ['sda=image.qcow2', 4, /volume "image\.qcow2" .* is qcow2; a disk is written raw, into a raw volume: name a raw volume/],
      ['sda=tiny.img', 4, /volume "tiny\.img" .* holds 524288 bytes, and the disk needs 8388608: name a larger volume/],
      ['vmdisk9=lun-b.img', 2, /--volume vmdisk9=lun-b\.img: the domain has no disk "vmdisk9"; its disks \(ovf:diskId and device\): vmdisk1 \(sda\)/],
    ];
    for (const [pair, code, message] of cases) {
      const r = await run(importArgs(name, '--volume', pair));
      assert.equal(r.code, code, `${pair}: ${r.stderr}`);
      assert.match(r.stderr, message, pair);
      assert.doesNotMatch(r.stderr, /this is a bug|at .*\.js:/);
    }
    assert.equal(domainExists(name), false);
    assert.ok(await allZero(vol('lun-b.img')), 'nothing was written');
    const usage = await run(importArgs(name, '--overwrite-volumes'));
    assert.equal(usage.code, 2, usage.stderr);
    assert.match(usage.stderr, /overwriting existing volumes needs the volumes, named with --volume DISK=VOLUME/);
    const dir = await run(['import', app.ova!, '--output-dir', work, '--name', name, '--volume', 'sda=lun-b.img']);
    assert.equal(dir.code, 2, dir.stderr);
    assert.match(dir.stderr, /--volume names existing volumes of a storage pool; it cannot be used with --output-dir/);
    const batch = await run(['import', app.ova!, app.ova!, '--pool', scratch.name, '--volume', 'sda=lun-b.img']);
    assert.equal(batch.code, 2, batch.stderr);
  });

  test('inspect --pool --volume says the disk goes into the existing volume, and how', async () => {
    const r = await run(['inspect', app.ova!, '--pool', scratch.name, '--volume', 'sda=lun-b.img']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /sda\s+disk lun-b\.img \(existing volume, written raw\): written here \(/);
    const json = await run(['inspect', app.ova!, '--pool', scratch.name, '--volume', 'sda=lun-b.img', '--json']);
    const volume = (JSON.parse(json.stdout) as { target: { volumes: { name: string; existing?: boolean; exists: boolean }[] } }).target.volumes[0]!;
    assert.deepEqual([volume.name, volume.existing, volume.exists], ['lun-b.img', true, false]);
  });

  test('refuses a volume holding data unless --overwrite-volumes, which then writes it', async () => {
    const name = uniqueName('existing-data');
    domains.push(name);
    await execa('dd', ['if=/dev/urandom', `of=${vol('lun-b.img')}`, 'bs=1K', 'seek=65535', 'count=1', 'conv=notrunc']);
    const refused = await run(importArgs(name, '--volume', 'sda=lun-b.img'));
    assert.equal(refused.code, 4, refused.stderr);
    assert.match(refused.stderr, new RegExp(`holds data \\(a byte that is not zero at offset 671\\d+\\); virt-ovf writes only into a blank volume: wipe it \\(virsh vol-wipe --pool ${scratch.name} lun-b\\.img\\) or pass --overwrite-volumes`));
    const r = await run(importArgs(name, '--volume', 'sda=lun-b.img', '--overwrite-volumes'));
    assert.equal(r.code, 0, r.stderr);
    const disk = await readFile(app.rawDisk);
    assert.ok((await readFile(vol('lun-b.img'))).subarray(0, disk.length).equals(disk));
  });

  test('a failed import leaves the volume (never removed) with its first and last MiB zero again, and no journal', async () => {
    const name = uniqueName('existing-rollback');
    await virsh('vol-create-as', scratch.name, 'lun-c.img', '64M', '--format', 'raw');
    // The manifest's digest of the disk is wrong: the disk is written, then the import fails.
    const ova = await withWrongDiskDigest(app.ova!, work);
    const r = await run(['import', ova, '--pool', scratch.name, '--name', name, '--virt-type', 'qemu', '--volume', 'sda=lun-c.img']);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /Rolled back: first and last MiB of volume lun-c\.img \(zeroed again\)/);
    assert.equal((await stat(vol('lun-c.img'))).size, 64 * MiB, 'the volume is still there');
    assert.ok(await allZero(vol('lun-c.img'), true), 'its first and last MiB are blank again');
    assert.equal(domainExists(name), false);
    assert.deepEqual(await readdir(state), [], 'no journal is left');
  });
});

describe('import into an existing partition of a disk pool', async () => {
  const skip = await loopDevicesMissing();
  let pool: DiskPool | undefined;
  let scratch: ScratchPool | undefined;
  let work: string | undefined;
  const domains: string[] = [];
  before(async () => {
    if (skip) return;
    ({ pool: scratch, work } = await openScratch('existing-partition'));
    pool = await diskPool(64 * 2 ** 20);
  });
  after(async () => {
    for (const d of domains) await removeDomain(d);
    await pool?.cleanup();
    await closeScratch(scratch, work, []);
  });

  test('writes the disk onto a partition the admin made, which the domain then uses; no partition is added', { skip }, async () => {
    const part = `${pool!.device.replace('/dev/', '')}p1`;
    const made = await virsh('vol-create-as', pool!.name, part, '8M');
    assert.equal(made.exitCode, 0, String(made.stderr));
    await execa('dd', ['if=/dev/urandom', `of=/dev/${part}`, 'bs=64K', 'seek=40', 'count=8', 'conv=notrunc']);
    const name = uniqueName('existing-part');
    domains.push(name);
    const app = await buildAppliance({ dir: join(work!, 'app') });
    const r = await runCli(['import', app.ova!, '--pool', pool!.name, '--name', name, '--virt-type', 'qemu', '--volume', `sda=${part}`]);
    assert.equal(r.code, 0, r.stderr);
    await virsh('pool-refresh', pool!.name);
    assert.doesNotMatch(String((await virsh('vol-list', pool!.name)).stdout), /p2\b/, 'no partition was added');
    const disk = await readFile(app.rawDisk);
    const head = await execa('head', ['-c', String(disk.length), `/dev/${part}`], { encoding: 'buffer' });
    assert.ok(Buffer.from(head.stdout).equals(disk), 'the partition starts with the disk, old data overwritten');
    assert.match(String((await virsh('dumpxml', name)).stdout), new RegExp(`<source pool='${pool!.name}' volume='${part}'`));
  });
});
