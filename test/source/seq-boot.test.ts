// The boot appliance piped into `virt-ovf import -` (issue 11): imported in one pass, started, and
// its marker seen on the serial console, as the local-file boot test (commands/import-boot.test.ts).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { closeScratch, openScratch, poolVolumes, waitForText } from '../commands/helpers.js';
import { uniqueName, type ScratchPool } from '../libvirt/harness.js';
import { packAppliance, runPiped } from './seq-kit.js';

describe('cat appliance.ova | virt-ovf import - boots', () => {
  let pool: ScratchPool;
  let work: string;
  const domains: string[] = [];

  before(async () => {
    ({ pool, work } = await openScratch('seq-boot', { network: true }));
  });
  after(() => closeScratch(pool, work, domains));

  test('the OVA through a pipe becomes a domain that prints its marker on COM1 within 30 s', async () => {
    const name = uniqueName('seq-boot');
    const marker = `MARKER-STDIN-${Date.now()}`;
    const packed = await packAppliance(join(work, 'app'), { marker });
    const serialLog = join(work, `${name}.serial.log`);
    domains.push(name);
    const r = await runPiped(['import', '-', '--pool', pool.name, '--name', name, '--start', '--virt-type', 'qemu', '--serial-log', serialLog], packed.tar);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Reading standard input in one pass \(tar\)/);
    assert.match(r.stderr, /Manifest appliance\.mf: 2 file\(s\) verified over the streamed bytes/);
    assert.match(r.stdout, new RegExp(`Domain ${name} \\([0-9a-f-]{36}\\) defined and started`));
    const seen = await waitForText(serialLog, marker, 30_000);
    assert.ok(seen.found, `marker not on the serial console after ${seen.elapsedMs} ms; got: ${JSON.stringify(seen.content)}`);
    assert.ok((await poolVolumes(pool)).includes(`${name}-vmdisk1.qcow2`));
  });
});
