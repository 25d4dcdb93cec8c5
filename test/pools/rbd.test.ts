// Import into and export from a libvirt rbd pool on a real single-node Ceph cluster: QEMU's rbd driver writes and reads the images, the key never leaves a 0600 file.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildAppliance } from '../../scripts/appliance.js';
import { CLI, closeScratch, openScratch, removeDomain, runCli, waitForText } from '../commands/helpers.js';
import { cephMissing, rbdPool, startCeph, type CephCluster, type RbdPool } from '../harness/ceph.js';
import { TEST_URI, uniqueName, type ScratchPool } from '../libvirt/harness.js';

/** qemu-img's json: filename of an image of the cluster, opened as its admin (ceph.conf names the admin keyring). */
function imageFilename(ceph: CephCluster, image: string): string {
  return `json:${JSON.stringify({ driver: 'raw', file: { driver: 'rbd', pool: ceph.pool, image, conf: ceph.conf, user: 'admin' } })}`;
}

/** Every process's command line, read now (processes that exit meanwhile are skipped). */
async function commandLines(): Promise<string[]> {
  const pids = (await readdir('/proc')).filter((p) => /^\d+$/.test(p));
  const lines = await Promise.all(pids.map((p) => readFile(`/proc/${p}/cmdline`, 'latin1').catch(() => '')));
  return lines.map((l) => l.replaceAll('\0', ' '));
}

describe('rbd pools', async () => {
  const skip = await cephMissing();
  let ceph: CephCluster | undefined;
  let pool: RbdPool | undefined;
  let scratch: ScratchPool | undefined;
  let work: string | undefined;
  const domains: string[] = [];

  before(async () => {
    if (skip) return;
    ({ pool: scratch, work } = await openScratch('rbd', { network: true }));
    ceph = await startCeph();
    process.stderr.write(`# Ceph single-node cluster ready in ${(ceph.startupMs / 1000).toFixed(1)} s\n`);
    pool = await rbdPool(ceph);
  });
  after(async () => {
    for (const d of domains) await removeDomain(d);
    await pool?.cleanup();
    await ceph?.stop();
    await closeScratch(scratch, work, []);
  });

  for (const profile of ['faithful', 'virtio']) {
    test(`imports the boot OVA into an rbd pool with the ${profile} profile; the domain boots from the rbd image through the pool's monitors and secret`, { skip }, async () => {
      const name = uniqueName(`rbd-${profile}`);
      const marker = `MARKER-RBD-${profile.toUpperCase()}-${Date.now()}`;
      const app = await buildAppliance({ dir: join(work!, name), marker });
      const serialLog = join(work!, `${name}.serial.log`);
      domains.push(name);
      // Watch every process's command line while the import runs: the key must be on none.
      const child = execa('node', [CLI, 'import', app.ova!, '--pool', pool!.name, '--name', name, '--profile', profile, '--start', '--virt-type', 'qemu', '--serial-log', serialLog], { reject: false, env: { LIBVIRT_DEFAULT_URI: TEST_URI }, stdin: 'ignore' });
      let scans = 0;
      const leaks: string[] = [];
      const keyFiles = new Set<string>();
      while (child.exitCode === null) {
        for (const line of await commandLines()) if (line.includes(ceph!.key)) leaks.push(line);
        for (const f of (await readdir('/dev/shm').catch(() => [])).filter((f) => f.startsWith('virt-ovf-key-'))) keyFiles.add(f);
        scans++;
        await new Promise((r) => setTimeout(r, 5));
      }
      const r = await child;
      assert.equal(r.exitCode, 0, String(r.stderr));
      assert.deepEqual(leaks, [], 'the key appeared on a command line');
      assert.ok(scans > 10, `only ${scans} scans of /proc during the import`);
      assert.ok(!String(r.stdout).includes(ceph!.key) && !String(r.stderr).includes(ceph!.key), 'the key appeared in virt-ovf output');
      assert.ok(keyFiles.size > 0, 'the key file in /dev/shm was never seen (is the transfer going through QEMU rbd?)');
      assert.deepEqual((await readdir('/dev/shm')).filter((f) => keyFiles.has(f)), [], 'a key file outlived the import');
      const seen = await waitForText(serialLog, marker, 60_000);
      assert.ok(seen.found, `marker not on the serial console after ${seen.elapsedMs} ms; got: ${JSON.stringify(seen.content)}`);
      const xml = String((await execa('virsh', ['-c', TEST_URI, 'dumpxml', name])).stdout);
      assert.match(xml, new RegExp(`<source protocol='rbd' name='${ceph!.pool}/${name}-vmdisk1\\.img'`));
      assert.match(xml, new RegExp(`<host name='127\\.0\\.0\\.1' port='${ceph!.monitor.port}'/>`));
      assert.match(xml, new RegExp(`<auth username='${ceph!.user}'>\\s*<secret type='ceph' uuid='${pool!.secretUuid}'/>`));
      assert.ok(!xml.includes(ceph!.key));
      const info = JSON.parse(String((await execa('qemu-img', ['info', '--output=json', '-f', 'raw', imageFilename(ceph!, `${name}-vmdisk1.img`)])).stdout)) as { 'virtual-size': number };
      assert.equal(info['virtual-size'], 2 ** 20, 'the rbd image has the disk capacity (1 MiB)');
    });
  }

  test('exports the stopped rbd domain (its <auth> secret handed to qemu-storage-daemon in a file) and re-imports it; the rbd images are identical', { skip }, async () => {
    const name = domains[0];
    assert.ok(name, 'the import test ran first');
    await execa('virsh', ['-c', TEST_URI, 'destroy', name], { reject: false });
    const ova = join(work!, `${name}-export.ova`);
    const exported = await runCli(['export', name, '-o', ova]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.ok(!exported.stderr.includes(ceph!.key) && !exported.stdout.includes(ceph!.key));
    const again = uniqueName('rbd-again');
    domains.push(again);
    const r = await runCli(['import', ova, '--pool', pool!.name, '--name', again, '--virt-type', 'qemu']);
    assert.equal(r.code, 0, r.stderr);
    const cmp = await execa('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', imageFilename(ceph!, `${name}-vmdisk1.img`), imageFilename(ceph!, `${again}-vmdisk1.img`)], { reject: false });
    assert.equal(cmp.exitCode, 0, `qemu-img compare: ${cmp.stdout} ${cmp.stderr}`);
    assert.match(String(cmp.stdout), /Images are identical/);
  });
});
