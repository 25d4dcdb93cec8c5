// Package features end to end: gzip-compressed and chunked files, an empty disk, an ISO in the package.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { buildAppliance, type ApplianceResult } from '../../scripts/appliance.js';
import { scratchPool, uniqueName, type ScratchPool } from '../libvirt/harness.js';
import { ensureDefaultNetwork, poolVolumes, removeDomain, runCli, waitForText } from './helpers.js';

describe('package features', () => {
  let pool: ScratchPool;
  let work: string;
  let app: ApplianceResult;
  const domains: string[] = [];

  before(async () => {
    pool = await scratchPool();
    await ensureDefaultNetwork();
    work = await mkdtemp(join(tmpdir(), 'virt-ovf-pkg-'));
    app = await buildAppliance({ dir: join(work, 'base'), name: 'pkg', ova: false, manifest: 'none', marker: 'PKG-MARKER-OK' });
  });
  after(async () => {
    for (const d of domains) await removeDomain(d);
    await pool?.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  test('a gzip-compressed disk, an empty disk and an ISO become three volumes and the domain still boots', async () => {
    const dir = join(work, 'rich');
    await mkdir(dir);
    const vmdk = await readFile(app.vmdk);
    await writeFile(join(dir, 'pkg-disk1.vmdk'), gzipSync(vmdk));
    const iso = Buffer.alloc(64 * 1024, 0x5a);
    await writeFile(join(dir, 'tools.iso'), iso);
    const ovf = (await readFile(app.ovf, 'utf8'))
      .replace(/ovf:id="file1" ovf:size="\d+"/, `ovf:id="file1" ovf:compression="gzip"`)
      .replace('</References>', `<File ovf:href="tools.iso" ovf:id="file2" ovf:size="${iso.length}"/></References>`)
      .replace('</DiskSection>', '<Disk ovf:capacity="8" ovf:capacityAllocationUnits="byte * 2^20" ovf:diskId="scratch"/></DiskSection>')
      .replace(
        /(ovf:\/disk\/vmdisk1<\/rasd:HostResource>[\s\S]*?<\/Item>)/,
        '$1<Item><rasd:AddressOnParent>1</rasd:AddressOnParent><rasd:HostResource>ovf:/disk/scratch</rasd:HostResource><rasd:InstanceID>20</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>' +
          '<Item><rasd:AddressOnParent>2</rasd:AddressOnParent><rasd:HostResource>ovf:/file/file2</rasd:HostResource><rasd:InstanceID>21</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>15</rasd:ResourceType></Item>',
      );
    assert.ok(ovf.includes('ovf:/file/file2') && ovf.includes('compression="gzip"'), 'fixture edits applied');
    await writeFile(join(dir, 'pkg.ovf'), ovf);
    const ova = join(work, 'rich.ova');
    await execa('tar', ['--format=ustar', '-cf', ova, '-C', dir, 'pkg.ovf', 'pkg-disk1.vmdk', 'tools.iso']);
    const name = uniqueName('rich');
    domains.push(name);
    const serialLog = join(work, `${name}.log`);
    const r = await runCli(['import', ova, '--pool', pool.name, '--name', name, '--virt-type', 'qemu', '--start', '--serial-log', serialLog]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok((await waitForText(serialLog, 'PKG-MARKER-OK', 30_000)).found, 'the gzip-decompressed boot disk boots first');
    const volumes = await poolVolumes(pool);
    assert.deepEqual(volumes, [`${name}-file2.iso`, `${name}-scratch.qcow2`, `${name}-vmdisk1.qcow2`], 'no temporary file is left in the pool directory');
    assert.deepEqual(await readFile(join(pool.path, `${name}-file2.iso`)), iso);
    const scratch = JSON.parse(String((await execa('qemu-img', ['info', '-U', '--output=json', '-f', 'qcow2', join(pool.path, `${name}-scratch.qcow2`)])).stdout)) as { 'virtual-size': number };
    assert.equal(scratch['virtual-size'], 8 * 2 ** 20);
    const dumped = String((await execa('virsh', ['-c', 'qemu:///system', 'dumpxml', name])).stdout);
    assert.match(dumped, /<disk type='volume' device='cdrom'>[\s\S]*?<target dev='sdc' bus='sata'\/>/);
  });

  test('a file split with ovf:chunkSize is joined and converted to identical contents', async () => {
    const dir = join(work, 'chunked');
    await mkdir(dir);
    const vmdk = await readFile(app.vmdk);
    const chunk = 48 * 1024;
    const parts: string[] = [];
    for (let i = 0; i * chunk < vmdk.length; i++) {
      const part = `pkg-disk1.vmdk.${String(i).padStart(9, '0')}`;
      await writeFile(join(dir, part), vmdk.subarray(i * chunk, (i + 1) * chunk));
      parts.push(part);
    }
    assert.ok(parts.length >= 2, 'the disk spans several chunks');
    const ovf = (await readFile(app.ovf, 'utf8')).replace(/ovf:id="file1" ovf:size="\d+"/, `ovf:chunkSize="${chunk}" ovf:id="file1" ovf:size="${vmdk.length}"`);
    await writeFile(join(dir, 'pkg.ovf'), ovf);
    const name = uniqueName('chunked');
    domains.push(name);
    const r = await runCli(['import', join(dir, 'pkg.ovf'), '--pool', pool.name, '--name', name, '--virt-type', 'qemu']);
    assert.equal(r.code, 0, r.stderr);
    const cmp = await execa('qemu-img', ['compare', '-f', 'raw', '-F', 'qcow2', app.rawDisk, join(pool.path, `${name}-vmdisk1.qcow2`)], { reject: false });
    assert.equal(cmp.exitCode, 0, String(cmp.stdout));
  });

  test('a qcow2 disk whose size is no multiple of 512 imports from an OVA (tar padding) and from a directory', async () => {
    const dir = join(work, 'qcow2');
    await mkdir(dir);
    // A fresh qcow2 from qemu-img create is 196616 bytes: header, tables, no data.
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', join(dir, 'pkg-disk1.qcow2'), '1M']);
    const zeros = join(dir, 'zeros.raw');
    await writeFile(zeros, Buffer.alloc(2 ** 20));
    assert.notEqual((await readFile(join(dir, 'pkg-disk1.qcow2'))).length % 512, 0, 'the fixture has an odd size');
    const ovf = (await readFile(app.ovf, 'utf8'))
      .replace('pkg-disk1.vmdk', 'pkg-disk1.qcow2')
      .replace(/ovf:size="\d+"/, '')
      .replace(/ovf:format="[^"]+"/, 'ovf:format="http://www.gnome.org/~markmc/qcow-image-format.html"');
    await writeFile(join(dir, 'pkg.ovf'), ovf);
    const ova = join(work, 'qcow2.ova');
    await execa('tar', ['--format=ustar', '-cf', ova, '-C', dir, 'pkg.ovf', 'pkg-disk1.qcow2']);
    for (const source of [ova, join(dir, 'pkg.ovf')]) {
      const name = uniqueName('qcow2');
      domains.push(name);
      const r = await runCli(['import', source, '--pool', pool.name, '--name', name, '--virt-type', 'qemu']);
      assert.equal(r.code, 0, r.stderr);
      const cmp = await execa('qemu-img', ['compare', '-f', 'raw', '-F', 'qcow2', zeros, join(pool.path, `${name}-vmdisk1.qcow2`)], { reject: false });
      assert.equal(cmp.exitCode, 0, String(cmp.stdout));
    }
  });
});
