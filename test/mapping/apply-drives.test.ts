// One record per drive (mapping/drives.ts) and its target (import/targets.ts), built from real packages on disk.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildDomainSpec } from '../../src/import/build-domain.js';
import { planImport } from '../../src/import/plan.js';
import { assignTargets, volumeFormat } from '../../src/import/targets.js';
import type { Mappings } from '../../src/mapping/load.js';
import { cpuAndMemory, ovfDocument, withTempDir } from '../ovf/helpers.js';
import { diskOn, item, mapItems, mappings, pvscsi } from './apply-helpers.js';

const cdrom = item({ InstanceID: '6', ResourceType: '15', Parent: '3', AddressOnParent: '1' });

/** A descriptor with a chunked VMDK disk, an empty data disk and an empty CD-ROM, written into `dir` with its chunk files. */
function writePackage(dir: string, osAttrs?: string): string {
  const text = ovfDocument({
    files: [{ id: 'file1', href: 'disk1.vmdk', size: 3000 }],
    disks: [
      { id: 'vmdisk1', capacity: '8', units: 'byte * 2^30', fileRef: 'file1' },
      { id: 'data', capacity: '1', units: 'byte * 2^30' },
    ],
    systems: [{ id: 'vm', ...(osAttrs ? { osAttrs } : {}), items: [...cpuAndMemory(), pvscsi, diskOn('3', '0'), diskOn('3', '2', '5', 'ovf:/disk/data'), cdrom] }],
  }).replace('ovf:href="disk1.vmdk"', 'ovf:href="disk1.vmdk" ovf:chunkSize="2048"');
  writeFileSync(join(dir, 'vm.ovf'), text);
  writeFileSync(join(dir, 'disk1.vmdk.000000000'), Buffer.alloc(2048));
  writeFileSync(join(dir, 'disk1.vmdk.000000001'), Buffer.alloc(952));
  return join(dir, 'vm.ovf');
}

describe('describeDrives: one record per drive', () => {
  it('records a chunked file with its parts, an empty disk and an empty CD-ROM, in domain order', async () => {
    await withTempDir(async (dir) => {
      const plan = await planImport({ source: writePackage(dir), name: 'rec', descriptorOnly: true });
      assert.deepEqual(plan.drives.map((d) => [d.kind, d.placed.dev, d.volumeBase]), [
        ['file', 'sda', 'rec-vmdisk1'],
        ['empty', 'sdb', 'rec-data'],
        ['empty', 'sdc', 'rec-6'],
      ]);
      const disk = plan.drives[0]!;
      assert.ok(disk.kind === 'file');
      assert.equal(disk.format, 'vmdk');
      assert.deepEqual(disk.stored, { href: 'disk1.vmdk', chunked: true, parts: [{ name: 'disk1.vmdk.000000000', size: 2048 }, { name: 'disk1.vmdk.000000001', size: 952 }], storedBytes: 3000 });
      assert.equal(disk.capacityBytes, 8 * 2 ** 30);
      assert.equal(disk.dataBytes, 3000, 'no ovf:populatedSize: the declared file size');
      assert.deepEqual(disk.parents, []);
      assert.equal(plan.drives[1]!.capacityBytes, 2 ** 30);
      assert.equal(plan.drives[2]!.placed.device, 'cdrom');
    });
  });

  it('adds the OVF environment CD-ROM as a generated record holding ovf-env.xml, not as an Item', async () => {
    await withTempDir(async (dir) => {
      const plan = await planImport({ source: writePackage(dir), name: 'env', descriptorOnly: true, ovfEnv: true });
      const env = plan.drives.at(-1)!;
      assert.ok(env.kind === 'generated');
      assert.equal(env.content, 'ovf-env');
      assert.equal(env.volumeLabel, 'OVF ENV');
      assert.deepEqual(env.files.map((f) => f.name), ['ovf-env.xml']);
      assert.equal(env.files[0]!.content, plan.ovfEnvironment);
      assert.equal(env.placed.instanceId, undefined);
      assert.equal(env.placed.bootOrder, undefined, 'generated media is not booted from');
      assert.equal(env.volumeBase, 'env-ovf-env');
    });
  });

  it('places a generated CD-ROM on the default CD-ROM bus after the Items\' drives', () => {
    const m = mapItems([...cpuAndMemory(), pvscsi, diskOn('3', '0')], { generatedCdroms: ['ovf-env'] });
    assert.deepEqual(m.disks.map((d) => [d.device, d.bus, d.dev, d.generated]), [
      ['disk', 'scsi', 'sda', undefined],
      ['cdrom', mappings.defaults.cdromBusWhenNoController, 'sdb', 'ovf-env'],
    ]);
  });
});

describe('assignTargets and volumeFormat', () => {
  it('names volumes DOMAIN-DISKID.EXT, keeps CD-ROM media raw and gives an empty CD-ROM no target', async () => {
    await withTempDir(async (dir) => {
      const plan = await planImport({ source: writePackage(dir), name: 'tgt', descriptorOnly: true, ovfEnv: true });
      const drives = assignTargets(plan.drives, { kind: 'pool', pool: 'images' }, 'raw', plan.mappings);
      assert.deepEqual(
        drives.map((d) => d.target && [d.target.name, d.target.format, d.target.source]),
        [
          ['tgt-vmdisk1.img', 'raw', { type: 'volume', pool: 'images', volume: 'tgt-vmdisk1.img' }],
          ['tgt-data.img', 'raw', { type: 'volume', pool: 'images', volume: 'tgt-data.img' }],
          undefined,
          ['tgt-ovf-env.iso', 'raw', { type: 'volume', pool: 'images', volume: 'tgt-ovf-env.iso' }],
        ],
      );
      const inDir = assignTargets(plan.drives, { kind: 'dir', dir: '/srv/vm' }, 'qcow2', plan.mappings);
      assert.deepEqual(inDir[0]!.target?.source, { type: 'file', path: '/srv/vm/tgt-vmdisk1.qcow2' });
      assert.deepEqual(buildDomainSpec(plan, drives, { type: 'qemu', uuid: '00000000-0000-4000-8000-000000000001' }).disks[2]!.source, { type: 'none' });
    });
  });

  it('picks qcow2 on file-based pools and directories, raw on block pools, unless a format is asked', () => {
    assert.equal(volumeFormat({ kind: 'pool', pool: 'p', poolType: 'dir' }, mappings), 'qcow2');
    assert.equal(volumeFormat({ kind: 'pool', pool: 'p', poolType: 'logical' }, mappings), 'raw');
    assert.equal(volumeFormat({ kind: 'pool', pool: 'p' }, mappings), 'qcow2', 'a pool not opened (print-xml)');
    assert.equal(volumeFormat({ kind: 'dir', dir: '/x' }, mappings), 'qcow2');
    assert.equal(volumeFormat({ kind: 'pool', pool: 'p', poolType: 'dir' }, mappings, 'raw'), 'raw');
  });
});

describe('mappings/system.json rules', () => {
  it('sets the clock offset by the OS family table: localtime for Windows, and whatever the table says', async () => {
    await withTempDir(async (dir) => {
      const plan = await planImport({ source: writePackage(dir, 'ovf:id="105" vmw:osType="windows9_64Guest"'), descriptorOnly: true });
      assert.equal(plan.mapped.osFamily, 'windows');
      const drives = assignTargets(plan.drives, { kind: 'dir', dir }, 'qcow2', plan.mappings);
      const uuid = '00000000-0000-4000-8000-000000000002';
      assert.equal(buildDomainSpec(plan, drives, { type: 'qemu', uuid }).clockOffset, 'localtime');
      const utcEverywhere: Mappings = { ...plan.mappings, system: { ...plan.mappings.system, clock: { byOsFamily: {}, default: 'utc' } } };
      assert.equal(buildDomainSpec({ ...plan, mappings: utcEverywhere }, drives, { type: 'qemu', uuid }).clockOffset, 'utc');
    });
  });

  it('reads cores per socket from the Item keys the table lists', () => {
    const cpu = item({ InstanceID: '1', ResourceType: '3', VirtualQuantity: '4' }, undefined, '        <vmw:CoresPerSocket ovf:required="false">2</vmw:CoresPerSocket>\n');
    const memory = cpuAndMemory()[1]!;
    assert.deepEqual(mapItems([cpu, memory]).topology, { sockets: 2, cores: 2, threads: 1 });
    const other: Mappings = { ...mappings, system: { ...mappings.system, coresPerSocket: { itemKeys: ['cpu_per_socket'], vmwConfigKeys: [] } } };
    assert.equal(mapItems([cpu, memory], {}, {}, {}, other).topology, undefined, 'CoresPerSocket is no longer a key');
  });
});
