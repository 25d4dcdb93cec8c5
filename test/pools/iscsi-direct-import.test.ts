// virt-ovf import into a CHAP-protected iscsi-direct pool (a userspace tgtd target, the private
// libvirtd over qemu+tcp): --volume names the LUN, QEMU's iscsi driver writes it from this
// machine, the domain boots from <disk type='volume'>; the checks (too small by QEMU's size,
// holding data) and the rollback (ends zeroed through qemu-io) go through the same login.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { withWrongDiskDigest } from './wrong-digest.js';
import { buildAppliance, type ApplianceResult } from '../../scripts/appliance.js';
import { CLI, waitForText } from '../commands/helpers.js';
import { MiB, openIscsiDirectPool, type IscsiDirectPool } from './iscsi-fixture.js';

describe('import into an iscsi-direct pool (--volume, QEMU iscsi driver)', () => {
  let pool: IscsiDirectPool | string;
  let work: string;
  let state: string;
  let app: ApplianceResult;
  const marker = `MARKER-ISD-IMPORT-${Date.now()}`;

  before(async () => {
    pool = await openIscsiDirectPool({ lunSizes: [8 * MiB, 8 * MiB, 4 * MiB], chap: { user: 'virt-ovf-import', password: `imp-${process.pid}-${Date.now()}` } });
    work = await mkdtemp(join(tmpdir(), 'virt-ovf-isd-import-'));
    state = join(work, 'state');
    await mkdir(state);
    app = await buildAppliance({ dir: join(work, 'app'), marker, diskSizeBytes: 6 * MiB });
  });
  after(async () => {
    if (typeof pool !== 'string') await pool?.close();
    await rm(work, { recursive: true, force: true });
  });

  async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const p = pool as IscsiDirectPool;
    const r = await execa('node', [CLI, ...args], { reject: false, env: { VIRT_OVF_STATE_DIR: state, LIBVIRT_DEFAULT_URI: p.host.tcpUri }, stdin: 'ignore', timeout: 300_000 });
    return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
  }
  const importArgs = (name: string, pkg: string, ...more: string[]) => ['import', pkg, '--pool', (pool as IscsiDirectPool).name, '--name', name, '--virt-type', 'qemu', '--user-net', ...more];
  /** The backing file of LUN `n` (1-based) in tgtd. */
  const lun = (n: number) => (pool as IscsiDirectPool).target.luns[n - 1]!.path;

  test('writes the disk onto the named LUN over old data and the domain boots from it', async (t) => {
    if (typeof pool === 'string') return t.skip(pool);
    const old = Buffer.alloc(8 * MiB);
    old.fill(0xcc, 2 * MiB, 5 * MiB); // old bytes inside the disk's range, not at the LUN's ends
    await writeFile(lun(1), old);
    const plan = await cli(['inspect', app.ova!, '--pool', pool.name, '--volume', 'sda=unit:0:0:1']);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /sda\s+disk unit:0:0:1 \(existing volume, written raw\): QEMU's iscsi driver \(iscsi-direct pool "isd"/);
    const serialLog = join(pool.target.dir, 'boot.serial.log');
    const r = await cli(importArgs('isd-import', app.ova!, '--volume', 'sda=unit:0:0:1', '--start', '--serial-log', serialLog));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /disk unit:0:0:1 \(existing volume, written raw\): QEMU's iscsi driver/);
    const seen = await waitForText(serialLog, marker, 60_000);
    assert.ok(seen.found, `marker not on the serial console after ${seen.elapsedMs} ms`);
    const xml = (await pool.host.virsh('dumpxml', 'isd-import')).stdout;
    assert.match(xml, /<source pool='isd' volume='unit:0:0:1'/);
    await pool.host.virsh('destroy', 'isd-import');
    const disk = await readFile(app.rawDisk);
    assert.ok((await readFile(lun(1))).subarray(0, disk.length).equals(disk), 'the LUN starts with the disk: old bytes overwritten, zeros written');
    assert.deepEqual(await readdir(state), [], 'no journal is left');
  });

  test('refuses a LUN smaller than the disk (by QEMU\'s size) and one holding data, before writing anything', async (t) => {
    if (typeof pool === 'string') return t.skip(pool);
    const small = await cli(importArgs('isd-small', app.ova!, '--volume', 'sda=unit:0:0:3'));
    assert.equal(small.code, 4, small.stderr);
    assert.match(small.stderr, /volume "unit:0:0:3" of pool "isd" \(--volume for disk vmdisk1 \(sda\)\) holds 4194304 bytes, and the disk needs 6291456: name a larger volume/);
    const used = Buffer.alloc(8 * MiB);
    used.fill(0x11, 8 * MiB - 512);
    await writeFile(lun(2), used);
    const data = await cli(importArgs('isd-data', app.ova!, '--volume', 'sda=unit:0:0:2'));
    assert.equal(data.code, 4, data.stderr);
    assert.match(data.stderr, /holds data \(a byte that is not zero in the MiB from offset 7340032\); virt-ovf writes only into a blank volume: wipe it \(virsh vol-wipe --pool isd unit:0:0:2\) or pass --overwrite-volumes/);
    assert.ok((await readFile(lun(2))).equals(used), 'nothing was written');
  });

  test('a failed import zeroes the LUN\'s first and last MiB again through the same login', async (t) => {
    if (typeof pool === 'string') return t.skip(pool);
    await writeFile(lun(2), Buffer.alloc(8 * MiB));
    const ova = await withWrongDiskDigest(app.ova!, work);
    const r = await cli(importArgs('isd-bad', ova, '--volume', 'sda=unit:0:0:2'));
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /Rolled back: first and last MiB of volume unit:0:0:2 \(zeroed again\)/);
    const bytes = await readFile(lun(2));
    assert.ok(bytes.subarray(0, MiB).every((b) => b === 0) && bytes.subarray(7 * MiB).every((b) => b === 0), 'its ends are blank again');
    assert.deepEqual(await readdir(state), [], 'no journal is left');
  });
});
