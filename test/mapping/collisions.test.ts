// Namespaces that descriptor values cannot reach (issue 9, item 7): controller keys, volume
// names, Disks named twice, full controllers, and the "grows" flag of the controller rows.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PackageError } from '../../src/errors.js';
import { volumeBases } from '../../src/mapping/drives.js';
import type { PlannedDisk } from '../../src/mapping/apply.js';
import { controllerSchema } from '../../src/mapping/schema/rows.js';
import { systemSchema } from '../../src/mapping/schema/system.js';
import { cpuAndMemory } from '../ovf/helpers.js';
import { diskOn, item, mapItems, mappings } from './apply-helpers.js';

const sata = (id: string) => item({ InstanceID: id, ResourceType: '20', ResourceSubType: 'AHCI' });
const lsilogic = (id: string) => item({ InstanceID: id, ResourceType: '6', ResourceSubType: 'lsilogic' });

describe('layoutStorage: controller keys live apart from descriptor InstanceIDs', () => {
  it('keeps the IDE controller when a SCSI controller has InstanceID "ide"', () => {
    const m = mapItems([...cpuAndMemory(), lsilogic('ide'), diskOn('ide', '0', '4'), item({ InstanceID: '5', ResourceType: '5', Address: '0' }), item({ InstanceID: '6', ResourceType: '15', Parent: '5', AddressOnParent: '0' })]);
    assert.deepEqual(m.controllers, [
      { type: 'scsi', index: 0, model: 'lsilogic' },
      { type: 'ide', index: 0 },
    ]);
    assert.deepEqual(m.disks.map((d) => [d.bus, d.address?.controller]), [['scsi', 0], ['ide', 0]]);
  });

  it('adds the fallback SATA controller when a SCSI controller has InstanceID "auto-sata" or "fallback:sata"', () => {
    for (const id of ['auto-sata', 'fallback:sata']) {
      const m = mapItems([...cpuAndMemory(), lsilogic(id), diskOn(id, '0', '4'), item({ InstanceID: '6', ResourceType: '17', HostResource: 'ovf:/disk/vmdisk-6' })]);
      assert.deepEqual(m.controllers, [{ type: 'scsi', index: 0, model: 'lsilogic' }, { type: 'sata', index: 0 }], id);
      assert.deepEqual(m.disks.map((d) => d.bus), ['scsi', 'sata'], id);
    }
  });
});

describe('layoutStorage: a full controller grows, or the table says it cannot', () => {
  it('puts disks beyond an LSI Logic HBA\'s seven units on a second LSI Logic HBA, never dropping one', () => {
    const disks = Array.from({ length: 9 }, (_, i) => diskOn('3', String(i), String(10 + i)));
    const m = mapItems([...cpuAndMemory(), lsilogic('3'), ...disks]);
    assert.equal(m.disks.length, 9);
    assert.deepEqual(m.controllers, [{ type: 'scsi', index: 0, model: 'lsilogic' }, { type: 'scsi', index: 1, model: 'lsilogic' }]);
    assert.deepEqual(m.disks.map((d) => `${d.address?.controller}:${d.address?.unit}`), ['0:0', '0:1', '0:2', '0:3', '0:4', '0:5', '0:6', '1:0', '1:1']);
    assert.deepEqual(m.disks.map((d) => d.dev), ['sda', 'sdb', 'sdc', 'sdd', 'sde', 'sdf', 'sdg', 'sdh', 'sdi']);
    assert.equal(m.warnings.filter((w) => /additional lsilogic controller \(index 1\)/.test(w)).length, 2);
  });

  it('grows the fallback SATA controller too, and numbers a later SATA controller after it', () => {
    const loose = Array.from({ length: 7 }, (_, i) => item({ InstanceID: String(10 + i), ResourceType: '17', HostResource: `ovf:/disk/vmdisk-${10 + i}` }));
    const m = mapItems([...cpuAndMemory(), ...loose, sata('3'), diskOn('3', '0', '20')]);
    assert.deepEqual(m.controllers, [{ type: 'sata', index: 0 }, { type: 'sata', index: 1 }, { type: 'sata', index: 2 }]);
    assert.deepEqual(m.disks.map((d) => d.address?.controller), [0, 0, 0, 0, 0, 0, 1, 2]);
  });

  it('refuses a third drive on one IDE channel with the count (IDE rows say "grows": false)', () => {
    const ide = item({ InstanceID: '3', ResourceType: '5', Address: '1' });
    const drives = ['4', '5', '6'].map((id) => item({ InstanceID: id, ResourceType: '15', Parent: '3' }));
    assert.throws(() => mapItems([...cpuAndMemory(), ide, ...drives]), (err: unknown) => {
      assert.ok(err instanceof PackageError);
      assert.match(err.message, /^test\.ovf: 3 drives are attached to controller Item InstanceID 3 \(2 addresses per channel\) and another ide controller cannot be added, so Item InstanceID 6 has no address/);
      return true;
    });
    assert.equal(mapItems([...cpuAndMemory(), ide, ...drives.slice(0, 2)]).disks.length, 2);
  });

  it('reads "grows" from the tables and refuses an IDE-addressed row or fallback that would grow', () => {
    assert.equal(mappings.tables['devices']!.find((r) => r.id === 'ide')!.controller!.grows, false);
    assert.equal(mappings.system.fallbackControllers.ide!.grows, false);
    const row = { type: 'ide', diskBus: 'ide', address: 'ide', maxAddress: 1 };
    assert.match(controllerSchema.safeParse(row).error?.issues[0]?.message ?? '', /set "grows": false/);
    assert.equal(controllerSchema.safeParse({ ...row, grows: false }).success, true);
    const system = { ...mappings.system, fallbackControllers: { ...mappings.system.fallbackControllers, ide: { type: 'ide', address: 'ide', maxAddress: 1 } } };
    assert.equal(systemSchema.safeParse(system).success, false);
  });
});

describe('a Disk named by two Items', () => {
  it('is attached once, by the first Item, with a warning', () => {
    const m = mapItems([...cpuAndMemory(), sata('3'), diskOn('3', '0', '4'), diskOn('3', '1', '5', 'ovf:/disk/vmdisk1')]);
    assert.deepEqual(m.disks.map((d) => [d.instanceId, d.ovfDisk?.diskId]), [['4', 'vmdisk1']]);
    assert.ok(m.warnings.some((w) => /Item InstanceID 5 \("Hard disk 5"\): Disk "vmdisk1" is already attached by Item InstanceID 4/.test(w)), m.warnings.join('\n'));
  });

  it('does not stop two CD-ROMs holding the same File', () => {
    const cd = (id: string, at: string) => item({ InstanceID: id, ResourceType: '15', Parent: '3', AddressOnParent: at, HostResource: 'ovf:/file/iso' });
    assert.equal(mapItems([...cpuAndMemory(), sata('3'), cd('4', '0'), cd('5', '1')]).disks.length, 2);
  });
});

describe('volumeBases: every drive its own volume name', () => {
  const drive = (p: Partial<PlannedDisk>): PlannedDisk => ({ device: 'disk', bus: 'sata', dev: 'sda', ...p });
  const disk = (diskId: string, instanceId: string) => drive({ instanceId, ovfDisk: { diskId, capacityBytes: 1 } as PlannedDisk['ovfDisk'] });

  it('lets the generated CD-ROM claim its name first, wherever it sits', () => {
    const warnings: string[] = [];
    const bases = volumeBases([disk('ovf-env', '4'), drive({ device: 'cdrom', generated: 'ovf-env' }), disk('OVF-ENV', '5')], 'vm', warnings);
    assert.deepEqual(bases, ['vm-ovf-env-2', 'vm-ovf-env', 'vm-OVF-ENV-3']);
    assert.equal(warnings.length, 2);
  });

  it('suffixes ids that collide after safeName or in case, deterministically, and leaves distinct ids alone', () => {
    const placed = [disk('a b', '1'), disk('a/b', '2'), disk('a_b-2', '3'), disk('c', '4'), drive({ instanceId: '7' })];
    const first = volumeBases(placed, 'vm', []);
    assert.deepEqual(first, ['vm-a_b', 'vm-a_b-2', 'vm-a_b-2-2', 'vm-c', 'vm-7']);
    assert.deepEqual(volumeBases(placed, 'vm', []), first);
    assert.equal(new Set(first.map((b) => b.toLowerCase())).size, first.length);
  });
});
