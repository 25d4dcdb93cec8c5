// End to end on a real libvirtd: a VMware-style OVA becomes a domain that boots and prints its marker.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildAppliance } from '../../scripts/appliance.js';
import { uniqueName, type ScratchPool } from '../libvirt/harness.js';
import { closeScratch, openScratch, poolVolumes, runCli, waitForText } from './helpers.js';

describe('import boots the example appliance', () => {
  let pool: ScratchPool;
  let work: string;
  const domains: string[] = [];

  before(async () => {
    ({ pool, work } = await openScratch('boot', { network: true }));
  });
  after(async () => {
    await closeScratch(pool, work, domains);
  });

  for (const variant of [
    { controller: 'sata' as const, bus: "bus='sata'", controllerXml: "<controller type='sata'", nic: "<model type='e1000'/>" },
    { controller: 'pvscsi' as const, bus: "bus='scsi'", controllerXml: "model='vmpvscsi'", nic: "<model type='vmxnet3'/>" },
  ]) {
    test(`a ${variant.controller} disk with its NIC boots under TCG and prints the marker on COM1 within 30 s`, async () => {
      const name = uniqueName(`boot-${variant.controller}`);
      const marker = `MARKER-${variant.controller.toUpperCase()}-${Date.now()}`;
      const app = await buildAppliance({ dir: join(work, variant.controller), name: 'appliance', marker, controller: variant.controller, manifest: 'sha256' });
      const serialLog = join(work, `${name}.serial.log`);
      domains.push(name);
      const r = await runCli(['import', app.ova!, '--pool', pool.name, '--name', name, '--start', '--virt-type', 'qemu', '--serial-log', serialLog]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /Manifest appliance\.mf: 2 file\(s\) verified/);
      assert.match(r.stdout, new RegExp(`Domain ${name} \\([0-9a-f-]{36}\\) defined and started`));
      const seen = await waitForText(serialLog, marker, 30_000);
      assert.ok(seen.found, `marker not on the serial console after ${seen.elapsedMs} ms; got: ${JSON.stringify(seen.content)}`);
      const xml = await domainXml(name);
      assert.ok(xml.includes(variant.bus), xml);
      assert.ok(xml.includes(variant.controllerXml), xml);
      assert.ok(xml.includes(variant.nic), xml);
      assert.ok(xml.includes("<source network='default'"), 'unmapped OVF network goes to default');
      assert.ok((await poolVolumes(pool)).includes(`${name}-vmdisk1.qcow2`));
    });
  }
});

async function domainXml(name: string): Promise<string> {
  const { execa } = await import('execa');
  return String((await execa('virsh', ['-c', 'qemu:///system', 'dumpxml', name])).stdout);
}
