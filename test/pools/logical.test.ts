// Import into a libvirt `logical` (LVM) pool on a loop device, where the kernel has device-mapper; reported skipped with the reason where it has not.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildAppliance } from '../../scripts/appliance.js';
import { closeScratch, openScratch, removeDomain, runCli, waitForText } from '../commands/helpers.js';
import { deviceMapperMissing, loopDevicesMissing } from '../harness/block-pools.js';
import { TEST_URI, uniqueName, type ScratchPool } from '../libvirt/harness.js';

describe('logical (LVM) pools', async () => {
  const skip = (await loopDevicesMissing()) ?? (await deviceMapperMissing());
  const vg = uniqueName('virtovf_vg').replaceAll('-', '_');
  let device: string | undefined;
  let dir: string | undefined;
  let scratch: ScratchPool | undefined;
  let work: string | undefined;
  const domains: string[] = [];

  before(async () => {
    if (skip) return;
    ({ pool: scratch, work } = await openScratch('logical', { network: true }));
    dir = await mkdtemp(join(tmpdir(), 'virt-ovf-lvm-'));
    await writeFile(join(dir, 'pv.img'), '');
    await truncate(join(dir, 'pv.img'), 256 * 2 ** 20);
    device = String((await execa('losetup', ['--find', '--show', join(dir, 'pv.img')])).stdout).trim();
    await execa('vgcreate', [vg, device]);
    await execa('virsh', ['-c', TEST_URI, 'pool-create-as', vg, 'logical', '--source-name', vg, '--target', `/dev/${vg}`]);
  });
  after(async () => {
    for (const d of domains) await removeDomain(d);
    if (skip) return;
    await execa('virsh', ['-c', TEST_URI, 'pool-destroy', vg], { reject: false });
    await execa('vgremove', ['-f', vg], { reject: false });
    if (device) await execa('losetup', ['-d', device], { reject: false });
    if (dir) await rm(dir, { recursive: true, force: true });
    await closeScratch(scratch, work, []);
  });

  test('imports the boot OVA as a raw logical volume and boots from it', { skip }, async () => {
    const name = uniqueName('lvm');
    const marker = `MARKER-LVM-${Date.now()}`;
    const app = await buildAppliance({ dir: join(work!, name), marker });
    const serialLog = join(work!, `${name}.serial.log`);
    domains.push(name);
    const r = await runCli(['import', app.ova!, '--pool', vg, '--name', name, '--start', '--virt-type', 'qemu', '--serial-log', serialLog]);
    assert.equal(r.code, 0, r.stderr);
    const seen = await waitForText(serialLog, marker, 60_000);
    assert.ok(seen.found, `marker not on the serial console after ${seen.elapsedMs} ms`);
    const xml = String((await execa('virsh', ['-c', TEST_URI, 'dumpxml', name])).stdout);
    assert.match(xml, new RegExp(`<source pool='${vg}' volume='${name}-vmdisk1\\.img'`));
  });
});
