// --transfer on export: which connections read disks through streams, and a forced stream read
// from the system libvirtd (its pool visible here, so both paths can be compared).
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildAppliance } from '../../scripts/appliance.js';
import { readsThroughStreams } from '../../src/export/source-stream.js';
import { closeScratch, openScratch, runCli } from '../commands/helpers.js';
import { TEST_URI, uniqueName, type ScratchPool } from '../libvirt/harness.js';

test('auto reads through streams exactly when the connection URI names a host', () => {
  for (const uri of ['qemu+tcp://127.0.0.1:16509/system', 'qemu+ssh://root@kvm01/system?keyfile=/k', 'qemu://kvm01/system', 'qemu+tls://kvm01.example.org/system']) assert.equal(readsThroughStreams(uri, 'auto'), true, uri);
  for (const uri of ['qemu:///system', 'qemu:///session', 'qemu+unix:///system', 'test:///default']) assert.equal(readsThroughStreams(uri, 'auto'), false, uri);
  assert.equal(readsThroughStreams('qemu:///system', 'stream'), true);
  assert.equal(readsThroughStreams('qemu+tcp://kvm01/system', 'local'), false);
});

describe('export --transfer stream from the system libvirtd', () => {
  let pool: ScratchPool;
  let work: string;
  const domains: string[] = [];
  before(async () => {
    ({ pool, work } = await openScratch('export-transfer'));
  });
  after(async () => closeScratch(pool, work, domains));

  test('reads the qcow2 volume through streams into the same package disks as the local path', async () => {
    const app = await buildAppliance({ dir: join(work, 'app'), name: 'txapp' });
    const name = uniqueName('tx');
    domains.push(name);
    assert.equal((await runCli(['import', app.ova!, '--pool', pool.name, '--name', name, '--virt-type', 'qemu'])).code, 0);
    const vol = join(pool.path, (await readdir(pool.path)).find((f) => f.startsWith(name))!);
    for (const transfer of ['stream', 'local'] as const) {
      const dir = join(work, transfer);
      await mkdir(dir);
      const out = await runCli(['export', name, '-c', TEST_URI, '--transfer', transfer, '--disk-format', 'qcow2', '-o', `${dir}/`]);
      assert.equal(out.code, 0, out.stderr);
      assert.equal(/through libvirt streams/.test(out.stderr), transfer === 'stream', out.stderr);
      const r = await execa('qemu-img', ['compare', '-f', 'qcow2', '-F', 'qcow2', vol, join(dir, `${name}-disk1.qcow2`)], { reject: false });
      assert.equal(r.exitCode, 0, String(r.stdout));
      const check = await execa('qemu-img', ['check', '-f', 'qcow2', join(dir, `${name}-disk1.qcow2`)], { reject: false });
      assert.equal(check.exitCode, 0, String(check.stdout));
    }
  });
});
