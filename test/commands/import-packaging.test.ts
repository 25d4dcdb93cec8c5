// Package features end to end: gzip-compressed and chunked files, an empty disk, an ISO in the package.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { buildAppliance, type ApplianceResult } from '../../scripts/appliance.js';
import { uniqueName, type ScratchPool } from '../libvirt/harness.js';
import { closeScratch, openScratch, poolVolumes, runCli, waitForText } from './helpers.js';

describe('package features', () => {
  let pool: ScratchPool;
  let work: string;
  let app: ApplianceResult;
  const domains: string[] = [];

  before(async () => {
    ({ pool, work } = await openScratch('pkg', { network: true }));
    app = await buildAppliance({ dir: join(work, 'base'), name: 'pkg', ova: false, manifest: 'none', marker: 'PKG-MARKER-OK' });
  });
  after(async () => {
    await closeScratch(pool, work, domains);
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

  test('a VMDK delta disk (ovf:parentRef) is imported flattened with its parent; a parent hint with a path is refused', async () => {
    const dir = join(work, 'delta');
    await mkdir(dir);
    // The parent as the descriptor ships it (base.vmdk) and under the name the child's hint gives (parent.vmdk).
    await execa('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=monolithicSparse', app.rawDisk, join(dir, 'parent.vmdk')]);
    await execa('qemu-img', ['create', '-q', '-f', 'vmdk', '-o', 'subformat=monolithicSparse', '-b', 'parent.vmdk', '-F', 'vmdk', join(dir, 'pkg-disk1.vmdk')], { cwd: dir });
    await execa('qemu-io', ['-f', 'vmdk', '-c', 'write -P 0x22 512k 64k', join(dir, 'pkg-disk1.vmdk')]);
    await execa('cp', [join(dir, 'parent.vmdk'), join(dir, 'base.vmdk')]);
    const expected = join(dir, 'expected.raw');
    await execa('qemu-img', ['convert', '-f', 'vmdk', '-O', 'raw', join(dir, 'pkg-disk1.vmdk'), expected]);
    const sparse = 'http://www.vmware.com/interfaces/specifications/vmdk.html#sparse';
    const ovf = (await readFile(app.ovf, 'utf8'))
      .replace(/<File ovf:href="pkg-disk1.vmdk" ovf:id="file1" ovf:size="\d+"\/>/, '<File ovf:href="base.vmdk" ovf:id="file0"/><File ovf:href="pkg-disk1.vmdk" ovf:id="file1"/>')
      .replace(/<Disk [^>]*ovf:diskId="vmdisk1"[^>]*\/>/, `<Disk ovf:capacity="1048576" ovf:diskId="base" ovf:fileRef="file0" ovf:format="${sparse}"/><Disk ovf:capacity="1048576" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="${sparse}" ovf:parentRef="base"/>`);
    assert.ok(ovf.includes('ovf:parentRef="base"'), 'fixture edits applied');
    await writeFile(join(dir, 'pkg.ovf'), ovf);
    const ova = join(work, 'delta.ova');
    await execa('tar', ['--format=ustar', '-cf', ova, '-C', dir, 'pkg.ovf', 'base.vmdk', 'pkg-disk1.vmdk']);
    const name = uniqueName('delta');
    domains.push(name);
    const r = await runCli(['import', ova, '--pool', pool.name, '--name', name, '--virt-type', 'qemu']);
    assert.equal(r.code, 0, r.stderr);
    const cmp = await execa('qemu-img', ['compare', '-f', 'raw', '-F', 'qcow2', expected, join(pool.path, `${name}-vmdisk1.qcow2`)], { reject: false });
    assert.equal(cmp.exitCode, 0, String(cmp.stdout));
    assert.ok(!(await poolVolumes(pool)).some((v) => v.startsWith('virt-ovf-')), 'the private chain directory is removed');

    // The same package whose delta names its parent with a path is refused before qemu-img reads it.
    const child = await readFile(join(dir, 'pkg-disk1.vmdk'));
    const at = child.indexOf('parentFileNameHint="parent.vmdk"');
    assert.ok(at > 0);
    child.write('parentFileNameHint="../ent.vmdk"', at, 'latin1');
    await writeFile(join(dir, 'pkg-disk1.vmdk'), child);
    const bad = join(work, 'delta-bad.ova');
    await execa('tar', ['--format=ustar', '-cf', bad, '-C', dir, 'pkg.ovf', 'base.vmdk', 'pkg-disk1.vmdk']);
    const refused = await runCli(['import', bad, '--pool', pool.name, '--name', uniqueName('deltabad'), '--virt-type', 'qemu']);
    assert.equal(refused.code, 3, refused.stderr);
    assert.match(refused.stderr, /parentFileNameHint is not one plain file name \(\["\.\.\/ent\.vmdk"\]\)/);
  });
});
