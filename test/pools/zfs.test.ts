// Import into a libvirt `zfs` pool (a zpool on a loop device, each volume a zvol), where the kernel
// has ZFS and the tools are installed; reported skipped with the reason where not (Debian ships
// ZFS in contrib as a DKMS module, so a stock kernel has none).
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildAppliance } from '../../scripts/appliance.js';
import { closeScratch, openScratch, removeDomain, runCli, waitForText } from '../commands/helpers.js';
import { found, loopDevicesMissing } from '../harness/block-pools.js';
import { TEST_URI, uniqueName, type ScratchPool } from '../libvirt/harness.js';

/** Why a zpool cannot be made here, or undefined. */
async function zfsMissing(): Promise<string | undefined> {
  if (!existsSync('/dev/zfs')) return 'the kernel has no ZFS (/dev/zfs is missing; Debian ships it in contrib as zfs-dkms)';
  if (!(await found('zpool'))) return 'zpool is not installed (zfsutils-linux)';
  return undefined;
}

describe('zfs pools', async () => {
  const skip = (await loopDevicesMissing()) ?? (await zfsMissing());
  const zpool = uniqueName('virtovf-zp').replaceAll('-', '_');
  let device: string | undefined;
  let dir: string | undefined;
  let scratch: ScratchPool | undefined;
  let work: string | undefined;
  const domains: string[] = [];

  before(async () => {
    if (skip) return;
    ({ pool: scratch, work } = await openScratch('zfs', { network: true }));
    dir = await mkdtemp(join(tmpdir(), 'virt-ovf-zfs-'));
    await writeFile(join(dir, 'vdev.img'), '');
    await truncate(join(dir, 'vdev.img'), 256 * 2 ** 20);
    device = String((await execa('losetup', ['--find', '--show', join(dir, 'vdev.img')])).stdout).trim();
    await execa('zpool', ['create', '-m', 'none', zpool, device]);
    await execa('virsh', ['-c', TEST_URI, 'pool-create-as', zpool, 'zfs', '--source-name', zpool]);
  });
  after(async () => {
    for (const d of domains) await removeDomain(d);
    if (skip) return;
    await execa('virsh', ['-c', TEST_URI, 'pool-destroy', zpool], { reject: false });
    await execa('zpool', ['destroy', '-f', zpool], { reject: false });
    if (device) await execa('losetup', ['-d', device], { reject: false });
    if (dir) await rm(dir, { recursive: true, force: true });
    await closeScratch(scratch, work, []);
  });

  test('imports the boot OVA as a raw zvol and boots from it', { skip }, async () => {
    const name = uniqueName('zfs');
    const marker = `MARKER-ZFS-${Date.now()}`;
    const app = await buildAppliance({ dir: join(work!, name), marker });
    const serialLog = join(work!, `${name}.serial.log`);
    domains.push(name);
    const r = await runCli(['import', app.ova!, '--pool', zpool, '--name', name, '--start', '--virt-type', 'qemu', '--serial-log', serialLog]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /written here/);
    const seen = await waitForText(serialLog, marker, 60_000);
    assert.ok(seen.found, `marker not on the serial console after ${seen.elapsedMs} ms`);
    const xml = String((await execa('virsh', ['-c', TEST_URI, 'dumpxml', name])).stdout);
    assert.match(xml, new RegExp(`<source pool='${zpool}' volume='${name}-vmdisk1\\.img'`));
  });
});
