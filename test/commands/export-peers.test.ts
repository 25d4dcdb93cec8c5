// Peer check: an exported OVA is read by virt-v2v (-i ova --print-source) with the right hardware.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildAppliance } from '../../scripts/appliance.js';
import { uniqueName, type ScratchPool } from '../libvirt/harness.js';
import { closeScratch, openScratch, runCli } from './helpers.js';

const haveV2v = await execa('virt-v2v', ['--version'], { reject: false }).then((r) => r.exitCode === 0, () => false);

describe('exported OVAs in peer tools', () => {
  let pool: ScratchPool;
  let work: string;
  const domains: string[] = [];
  before(async () => {
    ({ pool, work } = await openScratch('peers'));
  });
  after(async () => {
    await closeScratch(pool, work, domains);
  });

  for (const [controller, bus, nic] of [['sata', 'sata', 'e1000'], ['pvscsi', 'scsi', 'vmxnet3']] as const) {
    test(`virt-v2v -i ova reads the export of a ${controller} domain: vCPUs, memory, firmware, disk bus, NIC model and MAC`, { skip: haveV2v ? false : 'virt-v2v is not installed (Debian package virt-v2v)' }, async () => {
      const app = await buildAppliance({ dir: join(work, controller), name: `peer${controller}`, controller });
      const name = uniqueName(`peer-${controller}`);
      domains.push(name);
      assert.equal((await runCli(['import', app.ova!, '--pool', pool.name, '--name', name, '--virt-type', 'qemu'])).code, 0);
      const ova = join(work, `${name}.ova`);
      const exported = await runCli(['export', name, '-o', ova]);
      assert.equal(exported.code, 0, exported.stderr);
      const r = await execa('virt-v2v', ['-i', 'ova', ova, '--print-source'], { reject: false, env: { LIBGUESTFS_BACKEND: 'direct' } });
      assert.equal(r.exitCode, 0, String(r.stderr));
      const out = String(r.stdout);
      assert.match(out, new RegExp(`source name: ${name}`));
      assert.match(out, /nr vCPUs: 1\n/);
      assert.match(out, /memory: 67108864 \(bytes\)/);
      assert.match(out, /firmware: bios/);
      assert.match(out, new RegExp(`disks:\\n\\t0 \\[${bus}\\]`));
      const mac = /<mac address='([^']+)'/.exec(String((await execa('virsh', ['-c', 'qemu:///system', 'dumpxml', name])).stdout))![1];
      assert.match(out, new RegExp(`mac: ${mac} \\[${nic}\\]`));
    });
  }
});
