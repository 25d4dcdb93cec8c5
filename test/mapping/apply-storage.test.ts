// mapVirtualSystem: disks and CD-ROMs on controllers: buses, SCSI and IDE addresses, the machine type.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cpuAndMemory } from '../ovf/helpers.js';
import { mapItems, item, pvscsi, diskOn, vmxnet3 } from './apply-helpers.js';

describe('mapVirtualSystem: a pvscsi disk and a vmxnet3 NIC', () => {
  const items = [...cpuAndMemory(), pvscsi, diskOn('3', '5'), vmxnet3];

  it('keeps the VMware devices under the faithful profile', () => {
    const m = mapItems(items);
    assert.equal(m.machine, 'q35');
    assert.deepEqual(m.controllers, [{ type: 'scsi', index: 0, model: 'vmpvscsi' }]);
    assert.equal(m.disks.length, 1);
    const disk = m.disks[0]!;
    assert.equal(disk.bus, 'scsi');
    assert.equal(disk.dev, 'sda');
    assert.equal(disk.device, 'disk');
    assert.deepEqual(disk.address, { controller: 0, bus: 0, target: 5, unit: 0 }, 'pvscsi takes AddressOnParent as the target');
    assert.equal(disk.bootOrder, 1);
    assert.equal(disk.ovfDisk?.diskId, 'vmdisk1');
    assert.equal(disk.file?.href, 'disk1.vmdk');
    assert.equal(disk.elementName, 'Hard disk 4');
    assert.equal(m.nics.length, 1);
    assert.equal(m.nics[0]!.model, 'vmxnet3');
    assert.ok(m.rowsUsed.includes('devices:scsi-pvscsi'));
    assert.ok(m.rowsUsed.includes('devices:nic-vmxnet3'));
  });

  it('moves the disk to virtio-blk and the NIC to virtio under the virtio profile', () => {
    const m = mapItems(items, { profile: 'virtio' });
    assert.equal(m.machine, 'q35');
    assert.deepEqual(m.controllers, [], 'virtio-blk needs no controller element');
    const disk = m.disks[0]!;
    assert.equal(disk.bus, 'virtio');
    assert.equal(disk.dev, 'vda');
    assert.equal(disk.address, undefined);
    assert.equal(disk.bootOrder, 1);
    assert.equal(m.nics[0]!.model, 'virtio');
    assert.ok(m.rowsUsed.includes('virtio:virtio-storage'));
    assert.ok(m.rowsUsed.includes('virtio:virtio-nic'));
  });

  it('puts a CD-ROM on the virtio-scsi controller under the virtio profile', () => {
    const m = mapItems([...items, item({ InstanceID: '6', ResourceType: '15', Parent: '3', AddressOnParent: '1', HostResource: 'ovf:/file/iso' })], { profile: 'virtio' });
    assert.deepEqual(m.controllers, [{ type: 'scsi', index: 0, model: 'virtio-scsi' }]);
    const cd = m.disks.find((d) => d.device === 'cdrom')!;
    assert.equal(cd.bus, 'scsi');
    assert.deepEqual(cd.address, { controller: 0, bus: 0, target: 1, unit: 0 });
    assert.equal(cd.file?.href, 'tools.iso');
  });
});

describe('mapVirtualSystem: SCSI addressing', () => {
  it('puts AddressOnParent in the unit with target 0 on an LSI Logic HBA', () => {
    const m = mapItems([...cpuAndMemory(), item({ InstanceID: '3', ResourceType: '6', ResourceSubType: 'lsilogic' }), diskOn('3', '3')]);
    assert.deepEqual(m.controllers, [{ type: 'scsi', index: 0, model: 'lsilogic' }]);
    assert.deepEqual(m.disks[0]!.address, { controller: 0, bus: 0, target: 0, unit: 3 });
  });

  it('moves an address beyond the HBA limit to the first free one, with a warning', () => {
    const m = mapItems([...cpuAndMemory(), item({ InstanceID: '3', ResourceType: '6', ResourceSubType: 'lsilogic' }), diskOn('3', '1', '4'), diskOn('3', '7', '6')]);
    assert.deepEqual(m.disks.map((d) => d.address?.unit), [1, 0]);
    assert.ok(m.warnings.some((w) => /AddressOnParent 7 .*beyond 6.*using 0/.test(w)), m.warnings.join('\n'));
  });

  it('numbers two SCSI controllers 0 and 1 and names their disks sda, sdb', () => {
    const m = mapItems([
      ...cpuAndMemory(),
      pvscsi,
      item({ InstanceID: '6', ResourceType: '6', ResourceSubType: 'lsilogicsas', Address: '1' }),
      diskOn('3', '0', '4'),
      diskOn('6', '2', '7'),
    ]);
    assert.deepEqual(m.controllers, [
      { type: 'scsi', index: 0, model: 'vmpvscsi' },
      { type: 'scsi', index: 1, model: 'lsisas1068' },
    ]);
    assert.deepEqual(m.disks.map((d) => [d.dev, d.address]), [
      ['sda', { controller: 0, bus: 0, target: 0, unit: 0 }],
      ['sdb', { controller: 1, bus: 0, target: 2, unit: 0 }],
    ]);
  });

  it('picks the earliest known name of a subtype list ("buslogic lsilogic") with its note', () => {
    const m = mapItems([...cpuAndMemory(), item({ InstanceID: '3', ResourceType: '6', ResourceSubType: 'buslogic lsilogic' }), diskOn('3', '0')]);
    assert.ok(m.rowsUsed.includes('devices:scsi-buslogic'));
    assert.ok(m.warnings.some((w) => /BusLogic/.test(w)));
  });

  it('attaches a disk whose Parent names no controller to SATA, with a warning', () => {
    const m = mapItems([...cpuAndMemory(), diskOn('99', '0')]);
    assert.deepEqual(m.controllers, [{ type: 'sata', index: 0 }]);
    assert.equal(m.disks[0]!.bus, 'sata');
    assert.ok(m.warnings.some((w) => /Parent 99 is no known controller/.test(w)));
  });
});

describe('mapVirtualSystem: IDE and the machine type', () => {
  const ide = item({ InstanceID: '6', ResourceType: '5', Address: '1' });
  const cdrom = item({ InstanceID: '7', ResourceType: '15', Parent: '6', AddressOnParent: '1', HostResource: 'ovf:/file/iso' }, 'ovf:required="false"');

  it('forces the pc machine for an IDE CD-ROM and takes bus from the controller Address, unit from AddressOnParent', () => {
    const m = mapItems([...cpuAndMemory(), pvscsi, diskOn('3', '0'), ide, cdrom]);
    assert.equal(m.machine, 'pc');
    assert.deepEqual(m.controllers, [
      { type: 'scsi', index: 0, model: 'vmpvscsi' },
      { type: 'ide', index: 0 },
    ]);
    const cd = m.disks.find((d) => d.device === 'cdrom')!;
    assert.equal(cd.bus, 'ide');
    assert.deepEqual(cd.address, { controller: 0, bus: 1, target: 0, unit: 1 });
    assert.equal(cd.dev, 'hdd');
    assert.equal(cd.file?.href, 'tools.iso');
    assert.equal(cd.bootOrder, 2, 'CD-ROMs with media boot after the hard disks');
    assert.equal(m.disks.find((d) => d.device === 'disk')!.bootOrder, 1);
  });

  it('shares one libvirt IDE controller between the two OVF IDE channels', () => {
    const m = mapItems([
      ...cpuAndMemory(),
      item({ InstanceID: '3', ResourceType: '5', Address: '0' }),
      item({ InstanceID: '4', ResourceType: '5', Address: '1' }),
      diskOn('3', '0', '5'),
      item({ InstanceID: '6', ResourceType: '15', Parent: '4', AddressOnParent: '0' }),
    ]);
    assert.deepEqual(m.controllers, [{ type: 'ide', index: 0 }]);
    assert.deepEqual(m.disks.map((d) => [d.dev, d.address?.bus, d.address?.unit]), [
      ['hda', 0, 0],
      ['hdc', 1, 0],
    ]);
    assert.equal(m.disks[1]!.bootOrder, undefined, 'an empty CD-ROM gets no boot order');
  });

  it('keeps q35 when the IDE controller has no device', () => {
    const m = mapItems([...cpuAndMemory(), ide, pvscsi, diskOn('3', '0')]);
    assert.equal(m.machine, 'q35');
    assert.deepEqual(m.controllers, [{ type: 'scsi', index: 0, model: 'vmpvscsi' }]);
  });

  it('reads EFI firmware from vmw:Config firmware=efi and keeps pc for IDE when secure boot is off', () => {
    const m = mapItems([...cpuAndMemory(), ide, cdrom], {}, { hardwareXml: '      <vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="efi"/>\n' });
    assert.equal(m.firmware, 'efi');
    assert.equal(m.secureBoot, false);
    assert.equal(m.machine, 'pc');
  });

  it('forces q35 for secure boot and moves IDE devices to SATA with a warning', () => {
    const m = mapItems([...cpuAndMemory(), ide, cdrom], {}, {
      hardwareXml:
        '      <vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="efi"/>\n      <vmw:Config ovf:required="false" vmw:key="uefi.secureBoot.enabled" vmw:value="true"/>\n',
    });
    assert.equal(m.firmware, 'efi');
    assert.equal(m.secureBoot, true);
    assert.equal(m.machine, 'q35');
    assert.deepEqual(m.controllers, [{ type: 'sata', index: 0 }]);
    const cd = m.disks[0]!;
    assert.equal(cd.bus, 'sata');
    assert.equal(cd.dev, 'sda');
    assert.equal(cd.address?.controller, 0);
    assert.ok(m.warnings.some((w) => /secure boot needs the q35 machine.*IDE devices move to SATA/.test(w)), m.warnings.join('\n'));
  });

  it('ignores uefi.secureBoot.enabled without EFI firmware, and defaults to BIOS', () => {
    const m = mapItems([...cpuAndMemory()], {}, { hardwareXml: '      <vmw:Config ovf:required="false" vmw:key="uefi.secureBoot.enabled" vmw:value="true"/>\n' });
    assert.equal(m.firmware, 'bios');
    assert.equal(m.secureBoot, false);
    assert.equal(mapItems([...cpuAndMemory()]).firmware, 'bios');
  });
});
