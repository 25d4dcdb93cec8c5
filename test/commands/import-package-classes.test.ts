// Package classes other projects' test suites ship, on a real libvirtd with a private dir pool:
// a Disk without ovf:capacity, an ovf:populatedSize far above what the files hold, a .mf named
// after a disk, and --network keys that name no OVF network. Each fixture is the boot appliance
// with one edit of its descriptor.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildAppliance, fileDigest, type ApplianceResult } from '../../scripts/appliance.js';
import { uniqueName, type ScratchPool } from '../libvirt/harness.js';
import { closeScratch, domainExists, openScratch, poolVolumes, runCli } from './helpers.js';

const MiB = 2 ** 20;
const CAPACITY = 64 * MiB;

describe('package classes from other projects, imported into a private dir pool', () => {
  let pool: ScratchPool;
  let work: string;
  let app: ApplianceResult;
  let ovf: string;
  const domains: string[] = [];

  before(async () => {
    ({ pool, work } = await openScratch('classes'));
    app = await buildAppliance({ dir: join(work, 'base'), name: 'app', ova: false, manifest: 'none', diskSizeBytes: CAPACITY });
    ovf = await readFile(app.ovf, 'utf8');
  });
  after(async () => {
    await closeScratch(pool, work, domains);
  });

  /** Writes an OVF directory package: the descriptor with `edit` applied, the disk, and `extra` files. */
  async function pkg(label: string, edit: (text: string) => string, extra: Record<string, (dir: string) => Promise<string>> = {}): Promise<string> {
    const dir = join(work, label);
    await mkdir(dir, { recursive: true });
    const text = edit(ovf);
    assert.notEqual(text, ovf, `the ${label} edit applies`);
    await writeFile(join(dir, 'app.ovf'), text);
    await copyFile(app.vmdk, join(dir, 'app-disk1.vmdk'));
    for (const [name, make] of Object.entries(extra)) await writeFile(join(dir, name), await make(dir));
    return join(dir, 'app.ovf');
  }

  async function importOk(source: string, label: string, args: string[] = []): Promise<{ name: string; stderr: string }> {
    const name = uniqueName(label);
    domains.push(name);
    const r = await runCli(['import', source, '--pool', pool.name, '--name', name, '--virt-type', 'qemu', ...args]);
    assert.equal(r.code, 0, r.stderr);
    return { name, stderr: r.stderr };
  }

  test('a Disk without ovf:capacity (Ganeti) gets the virtual size from the image header, not the 128 KiB file size', async () => {
    const source = await pkg('no-capacity', (t) => t.replace(/ ovf:capacity="\d+" ovf:capacityAllocationUnits="byte"/, ''));
    const { name, stderr } = await importOk(source, 'nocap');
    assert.match(stderr, /has no ovf:capacity; its virtual size is read from the file/);
    const info = await execa('qemu-img', ['info', '--output=json', join(pool.path, `${name}-vmdisk1.qcow2`)]);
    assert.equal((JSON.parse(info.stdout) as { 'virtual-size': number })['virtual-size'], CAPACITY);
  });

  test('ovf:populatedSize of 300 GiB beside a 128 KiB stream-optimized file is a hint: the space check counts what the file can hold', async () => {
    const source = await pkg('populated-hint', (t) => t.replace(/ovf:capacity="\d+"/, `ovf:capacity="${400 * 2 ** 30}"`).replace(/ovf:populatedSize="\d+"/, `ovf:populatedSize="${300 * 2 ** 30}"`));
    const r = await runCli(['import', source, '--pool', pool.name, '--name', uniqueName('hint'), '--virt-type', 'qemu', '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr + r.stdout, /Dry run: nothing was created/);
  });

  test('a .mf named after the disk is not the package manifest: its digest is checked, the descriptor need not be listed', async () => {
    const digestList = async (dir: string) => `SHA256(app-disk1.vmdk)= ${await fileDigest(join(dir, 'app-disk1.vmdk'), 'sha256')}\n`;
    const source = await pkg('disk-mf', (t) => t.replace('ovf:populatedSize="65536"', 'ovf:populatedSize="65537"'), { 'app-disk1.mf': digestList });
    const { stderr } = await importOk(source, 'diskmf');
    assert.match(stderr, /Verifying app-disk1\.mf, the digest list of app-disk1\.vmdk \(not the package's manifest\): 1 file/);
    assert.doesNotMatch(stderr, /does not list/);

    const bad = await pkg('disk-mf-bad', (t) => t.replace('ovf:populatedSize="65536"', 'ovf:populatedSize="65538"'), { 'app-disk1.mf': async () => `SHA256(app-disk1.vmdk)= ${'0'.repeat(64)}\n` });
    const before0 = await poolVolumes(pool);
    const name = uniqueName('diskmfbad');
    const r = await runCli(['import', bad, '--pool', pool.name, '--name', name, '--virt-type', 'qemu']);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /app-disk1\.vmdk: SHA256 digest mismatch/);
    assert.deepEqual(await poolVolumes(pool), before0);
    assert.equal(domainExists(name), false);
  });

  test('--network keys must name an OVF network; virt-install syntax is answered with the OVFNAME=NETWORK form', async () => {
    const before0 = await poolVolumes(pool);
    const unknown = await runCli(['import', app.ovf, '--pool', pool.name, '--virt-type', 'qemu', '--network', 'LAN=nosuch']);
    assert.equal(unknown.code, 2, unknown.stderr);
    assert.match(unknown.stderr, /"LAN" is not a network of this package \(its networks: "VM Network"\); map one of them as OVFNAME=NETWORK, e\.g\. "VM Network=default" \(--network\)/);
    const vi = await runCli(['import', app.ovf, '--pool', pool.name, '--virt-type', 'qemu', '--network', 'network=default,model=e1000']);
    assert.equal(vi.code, 2, vi.stderr);
    assert.match(vi.stderr, /"network=default,model=e1000" is virt-install's syntax; here each OVF network is mapped as OVFNAME=NETWORK \(this package's networks: "VM Network"\), e\.g\. "VM Network=default"/);
    const bridge = await runCli(['import', app.ovf, '--pool', pool.name, '--virt-type', 'qemu', '--bridge', 'bridge=br0']);
    assert.equal(bridge.code, 2, bridge.stderr);
    assert.match(bridge.stderr, /"bridge=br0" is virt-install's syntax; .*OVFNAME=BRIDGE .*\(--bridge\)/);
    assert.deepEqual(await poolVolumes(pool), before0);
  });
});
