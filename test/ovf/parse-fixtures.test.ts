// parseEnvelope on the hand-written OVF 1.0, OVF 2.0 and prefixed-only fixtures of test/data.

import assert from 'node:assert/strict';
import { loadMappings } from '../../src/mapping/load.js';
import { identifyProducer } from '../../src/mapping/producer.js';
import { describe, it } from 'node:test';
import { item, parseFixture } from './parse-helpers.js';

describe('parseEnvelope: an OVF 1.0 descriptor as ovftool writes it', () => {
  const env = parseFixture('vmware-ovf10.ovf');

  it('reports version 1, the file name and the VMware producer', () => {
    assert.equal(env.version, '1');
    assert.equal(env.file, 'vmware-ovf10.ovf');
    assert.equal(identifyProducer(env, loadMappings()), 'VMware');
    assert.equal(env.collection, undefined);
  });

  it('reads References with sizes', () => {
    assert.deepEqual(env.references, [
      { id: 'file1', href: 'tiny-disk1.vmdk', sizeBytes: 68608 },
      { id: 'file2', href: 'tiny-tools.iso', sizeBytes: 2048 },
    ]);
  });

  it('converts the disk capacity with its allocation units to bytes', () => {
    assert.deepEqual(env.disks, [
      {
        diskId: 'vmdisk1',
        capacityBytes: 16 * 2 ** 30,
        fileRef: 'file1',
        format: 'http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized',
        populatedSizeBytes: 1048576,
      },
    ]);
  });

  it('reads the NetworkSection', () => {
    assert.deepEqual(env.networks, [{ name: 'VM Network', description: 'The VM Network network' }]);
  });

  it('reads the VirtualSystem, its OperatingSystemSection and its annotation', () => {
    assert.equal(env.virtualSystems.length, 1);
    const vs = env.virtualSystems[0]!;
    assert.equal(vs.id, 'tiny-vm');
    assert.equal(vs.name, 'tiny-vm');
    assert.equal(vs.info, 'A virtual machine');
    assert.deepEqual(vs.operatingSystem, { id: 94, description: 'Ubuntu Linux (64-bit)', vmwOsType: 'ubuntu64Guest' });
    assert.equal(vs.annotation, 'Tiny test appliance & friends');
    assert.deepEqual(vs.hardware.virtualSystemTypes, ['vmx-13']);
  });

  it('reads the section-level vmw:Config pairs, including the firmware', () => {
    const config = env.virtualSystems[0]!.hardware.vmwConfig;
    assert.equal(config['firmware'], 'efi');
    assert.equal(config['uefi.secureBoot.enabled'], 'false');
    assert.equal(Object.keys(config).length, 3);
  });

  it('reads every Item in order with its position', () => {
    const items = env.virtualSystems[0]!.hardware.items;
    assert.deepEqual(items.map((i) => [i.index, i.instanceId, i.resourceType, i.element]), [
      [1, '1', 3, 'Item'],
      [2, '2', 4, 'Item'],
      [3, '3', 6, 'Item'],
      [4, '4', 5, 'Item'],
      [5, '5', 15, 'Item'],
      [6, '6', 17, 'Item'],
      [7, '7', 10, 'Item'],
      [8, '8', 24, 'Item'],
    ]);
  });

  it('reads processor and memory quantities and units, and vmw:CoresPerSocket as an extra and as coresPerSocket', () => {
    const cpu = item(env, '1');
    assert.equal(cpu.virtualQuantity, '4');
    assert.equal(cpu.allocationUnits, 'hertz * 10^6');
    assert.equal(cpu.extra['CoresPerSocket'], '2');
    assert.equal(cpu.coresPerSocket, 2);
    assert.equal(item(env, '2').coresPerSocket, undefined);
    const memory = item(env, '2');
    assert.equal(memory.virtualQuantity, '2048');
    assert.equal(memory.allocationUnits, 'byte * 2^20');
    assert.equal(memory.elementName, '2048MB of memory');
  });

  it('reads controllers with subtype and Address', () => {
    assert.equal(item(env, '3').resourceSubType, 'VirtualSCSI');
    assert.equal(item(env, '3').address, '0');
    assert.equal(item(env, '4').address, '1');
    assert.equal(item(env, '4').resourceSubType, undefined);
  });

  it('reads the CD-ROM: parent, AddressOnParent, HostResource, ovf:required="false" and AutomaticAllocation', () => {
    const cd = item(env, '5');
    assert.equal(cd.parent, '4');
    assert.equal(cd.addressOnParent, '0');
    assert.deepEqual(cd.hostResource, ['ovf:/file/file2']);
    assert.equal(cd.required, false);
    assert.equal(cd.automaticAllocation, false);
    assert.equal(cd.resourceSubType, 'vmware.cdrom.iso');
  });

  it('reads the hard disk with its item-level vmw:Config and required defaulting to true', () => {
    const disk = item(env, '6');
    assert.deepEqual(disk.hostResource, ['ovf:/disk/vmdisk1']);
    assert.equal(disk.parent, '3');
    assert.equal(disk.addressOnParent, '3');
    assert.equal(disk.required, true);
    assert.deepEqual({ ...disk.vmwConfig }, { 'backing.writeThrough': 'false' });
    assert.equal(disk.extra['Config'], undefined, 'vmw:Config is not an extra');
  });

  it('reads the NIC: Connection, MAC in Address and decoded entities in Description', () => {
    const nic = item(env, '7');
    assert.deepEqual(nic.connection, ['VM Network']);
    assert.equal(nic.address, '00:50:56:AB:CD:EF');
    assert.equal(nic.resourceSubType, 'VmxNet3');
    assert.equal(nic.description, 'VmxNet3 ethernet adapter on "VM Network"');
    assert.equal(nic.automaticAllocation, true);
  });

  it('reads the optional video card', () => {
    assert.equal(item(env, '8').required, false);
    assert.deepEqual(item(env, '8').configuration, []);
    assert.equal(item(env, '8').bound, undefined);
  });
});

describe('parseEnvelope: an OVF 2.0 descriptor with StorageItem and EthernetPortItem', () => {
  const env = parseFixture('vbox-ovf20.ovf');

  it('reports version 2 and the VirtualBox producer', () => {
    assert.equal(env.version, '2');
    assert.equal(identifyProducer(env, loadMappings()), 'VirtualBox');
  });

  it('reads a File without ovf:size and a disk capacity without units as bytes', () => {
    assert.deepEqual(env.references, [{ id: 'file1', href: 'box-disk001.vmdk' }]);
    assert.equal(env.disks[0]!.capacityBytes, 10 * 2 ** 30);
    assert.equal(env.disks[0]!.fileRef, 'file1');
    assert.deepEqual(env.networks, [{ name: 'NAT', description: 'Logical network used by this appliance.' }]);
  });

  it('keeps the element kind of each item, read through sasd/epasd namespaces ending in .xsd', () => {
    const items = env.virtualSystems[0]!.hardware.items;
    assert.deepEqual(items.map((i) => [i.instanceId, i.element, i.resourceType]), [
      ['1', 'Item', 3],
      ['2', 'Item', 4],
      ['3', 'Item', 5],
      ['4', 'Item', 20],
      ['5', 'StorageItem', 17],
      ['6', 'StorageItem', 15],
      ['7', 'EthernetPortItem', 10],
    ]);
  });

  it('reads the StorageItem disk: HostResource, Parent, AddressOnParent, Caption as the element name', () => {
    const disk = item(env, '5');
    assert.deepEqual(disk.hostResource, ['/disk/vmdisk1']);
    assert.equal(disk.parent, '4');
    assert.equal(disk.addressOnParent, '0');
    assert.equal(disk.elementName, 'disk1');
    assert.equal(disk.required, true);
  });

  it('reads the optional StorageItem CD-ROM on the IDE controller', () => {
    const cd = item(env, '6');
    assert.equal(cd.required, false);
    assert.equal(cd.parent, '3');
    assert.equal(cd.addressOnParent, '1');
    assert.deepEqual(cd.hostResource, []);
  });

  it('reads the EthernetPortItem subtype and Connection', () => {
    const nic = item(env, '7');
    assert.equal(nic.resourceSubType, 'E1000');
    assert.deepEqual(nic.connection, ['NAT']);
  });

  it('reads the controllers subtypes and the CIM OS type', () => {
    assert.equal(item(env, '3').resourceSubType, 'PIIX4');
    assert.equal(item(env, '4').resourceSubType, 'AHCI');
    assert.deepEqual(env.virtualSystems[0]!.operatingSystem, { id: 94, description: 'Ubuntu_64', vboxOsType: 'Ubuntu_64' });
    assert.deepEqual(env.virtualSystems[0]!.hardware.virtualSystemTypes, ['virtualbox-2.2']);
  });
});

describe('parseEnvelope: a descriptor with no default namespace', () => {
  const env = parseFixture('prefixed-no-default-ns.ovf');

  it('reads every ovf:-prefixed section', () => {
    assert.equal(env.version, '1');
    assert.deepEqual(env.references, [{ id: 'file1', href: 'win-disk1.vmdk', sizeBytes: 1000000 }]);
    assert.equal(env.disks[0]!.capacityBytes, 40960 * 2 ** 20);
    assert.deepEqual(env.networks, [{ name: 'LAN', description: 'The LAN network' }]);
    assert.equal(env.virtualSystems[0]!.id, 'win');
    assert.equal(env.virtualSystems[0]!.name, 'win');
    assert.deepEqual(env.virtualSystems[0]!.operatingSystem, { id: 1, vmwOsType: 'windows9_64Guest' });
  });

  it('reads ovf:Item elements and the vmw:Config firmware and secure boot keys', () => {
    const hw = env.virtualSystems[0]!.hardware;
    assert.deepEqual(hw.items.map((i) => i.resourceType), [3, 4, 20, 17, 10]);
    assert.equal(hw.vmwConfig['firmware'], 'efi');
    assert.equal(hw.vmwConfig['uefi.secureBoot.enabled'], 'true');
    assert.equal(item(env, '3').resourceSubType, 'vmware.sata.ahci');
    assert.equal(item(env, '5').resourceSubType, 'E1000e');
    assert.deepEqual(item(env, '5').connection, ['LAN']);
    assert.equal(identifyProducer(env, loadMappings()), 'VMware');
  });
});
