// mapVirtualSystem: RASD Items through the faithful and virtio profiles to a libvirt device plan.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { OvfParseError, PackageError, UnsupportedItemError, UsageError } from '../../src/errors.js';
import { mapVirtualSystem, type MapOptions, type MappedSystem } from '../../src/mapping/apply.js';
import { loadMappings } from '../../src/mapping/load.js';
import { parseEnvelope } from '../../src/ovf/parse.js';
import { cpuAndMemory, DATA_DIR, ovfDocument, type DocumentSpec, type ItemSpec } from '../ovf/helpers.js';

const mappings = loadMappings();

const DISK_FILES = { files: [{ id: 'file1', href: 'disk1.vmdk', size: 1000 }, { id: 'iso', href: 'tools.iso', size: 2048 }], disks: [{ id: 'vmdisk1', capacity: '8', units: 'byte * 2^30', fileRef: 'file1' }] };

type System = DocumentSpec['systems'][number];

/** Builds a one-system descriptor, parses it and maps it. */
function mapItems(items: readonly ItemSpec[], opts: Partial<MapOptions> = {}, system: Partial<System> = {}, doc: Partial<DocumentSpec> = {}): MappedSystem {
  const text = ovfDocument({ ...DISK_FILES, networks: ['LAN', 'DMZ', 'Other'], ...doc, systems: [{ id: 'vm', items, ...system }] });
  const env = parseEnvelope(Buffer.from(text), 'test.ovf');
  return mapVirtualSystem(env, env.virtualSystems[0]!, mappings, { profile: 'faithful', ...opts });
}

const item = (rasd: Record<string, string | string[]>, attrs?: string, extraXml?: string): ItemSpec => ({ rasd, ...(attrs ? { attrs } : {}), ...(extraXml ? { extraXml } : {}) });

const pvscsi = item({ InstanceID: '3', ResourceType: '6', ResourceSubType: 'VirtualSCSI', Address: '0' });
const diskOn = (parent: string, address: string, id = '4', host = 'ovf:/disk/vmdisk1') => item({ InstanceID: id, ResourceType: '17', Parent: parent, AddressOnParent: address, HostResource: host, ElementName: `Hard disk ${id}` });
const vmxnet3 = item({ InstanceID: '5', ResourceType: '10', ResourceSubType: 'VmxNet3', Connection: 'LAN' });

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

describe('mapVirtualSystem: items without a mapping', () => {
  const odd = (attrs?: string) => item({ InstanceID: '9', ResourceType: '32769', ResourceSubType: 'acme.widget', ElementName: 'Widget' }, attrs);

  it('throws UnsupportedItemError for an unknown required item, with its InstanceID and ResourceType', () => {
    assert.throws(
      () => mapItems([...cpuAndMemory(), odd('ovf:required="true"')]),
      (err: unknown) => {
        assert.ok(err instanceof UnsupportedItemError);
        assert.ok(err instanceof PackageError);
        assert.equal(err.instanceId, '9');
        assert.equal(err.resourceType, 32769);
        assert.equal(err.resourceSubType, 'acme.widget');
        assert.equal(err.file, 'test.ovf');
        assert.equal(err.exitCode, 3);
        assert.match(err.message, /InstanceID 9 \("Widget"\).*ResourceType 32769.*--lax/);
        return true;
      },
    );
  });

  it('treats an item without ovf:required as required', () => {
    assert.throws(() => mapItems([...cpuAndMemory(), odd()]), UnsupportedItemError);
  });

  it('leaves an unknown required item out with a warning under --lax', () => {
    const m = mapItems([...cpuAndMemory(), odd('ovf:required="true"')], { lax: true });
    assert.ok(m.warnings.some((w) => /InstanceID 9.*ResourceType 32769.*has no mapping; left out/.test(w)), m.warnings.join('\n'));
  });

  it('leaves an unknown item marked ovf:required="false" out with a warning', () => {
    const m = mapItems([...cpuAndMemory(), odd('ovf:required="false"')]);
    assert.ok(m.warnings.some((w) => /InstanceID 9.*has no mapping; left out/.test(w)));
  });

  it('warns about ignored rows with their reason (floppy, serial, VMCI)', () => {
    const m = mapItems([
      ...cpuAndMemory(),
      item({ InstanceID: '3', ResourceType: '14' }),
      item({ InstanceID: '4', ResourceType: '21', ResourceSubType: 'vmware.serialport.device' }),
      item({ InstanceID: '5', ResourceType: '1', ResourceSubType: 'vmware.vmci' }),
    ]);
    assert.equal(m.warnings.filter((w) => /not carried over/.test(w)).length, 3);
    assert.deepEqual(m.disks, []);
  });
});

describe('mapVirtualSystem: NIC models, MACs and networks', () => {
  it('maps the subtype list "VMXNET3 virtio" to vmxnet3 under faithful and to virtio under virtio', () => {
    const nic = item({ InstanceID: '3', ResourceType: '10', ResourceSubType: 'VMXNET3 virtio' });
    assert.equal(mapItems([...cpuAndMemory(), nic]).nics[0]!.model, 'vmxnet3');
    assert.equal(mapItems([...cpuAndMemory(), nic], { profile: 'virtio' }).nics[0]!.model, 'virtio');
  });

  it('maps subtypes case-insensitively and a NIC without subtype to e1000', () => {
    const m = mapItems([
      ...cpuAndMemory(),
      item({ InstanceID: '3', ResourceType: '10', ResourceSubType: 'e1000E' }),
      item({ InstanceID: '4', ResourceType: '10', ResourceSubType: 'pcnet32' }),
      item({ InstanceID: '5', ResourceType: '10' }),
    ]);
    assert.deepEqual(m.nics.map((n) => n.model), ['e1000e', 'pcnet', 'e1000']);
  });

  it('takes the MAC from rasd:Address, lower-cased with colons', () => {
    const m = mapItems([
      ...cpuAndMemory(),
      item({ InstanceID: '3', ResourceType: '10', Address: '00-50-56-AB-CD-EF' }),
      item({ InstanceID: '4', ResourceType: '10', Address: '00:50:56:01:02:0A' }),
      item({ InstanceID: '5', ResourceType: '10', Address: '0' }),
    ]);
    assert.deepEqual(m.nics.map((n) => n.mac), ['00:50:56:ab:cd:ef', '00:50:56:01:02:0a', undefined]);
  });

  it('attaches NICs by --network, --bridge, or to the default network with defaulted=true', () => {
    const m = mapItems(
      [
        ...cpuAndMemory(),
        item({ InstanceID: '3', ResourceType: '10', Connection: 'LAN' }),
        item({ InstanceID: '4', ResourceType: '10', Connection: 'DMZ' }),
        item({ InstanceID: '5', ResourceType: '10', Connection: 'Other' }),
        item({ InstanceID: '6', ResourceType: '10' }),
      ],
      { networks: { LAN: 'lab' }, bridges: { DMZ: 'br0' } },
    );
    assert.deepEqual(
      m.nics.map((n) => ({ id: n.instanceId, source: n.source, defaulted: n.defaulted, ovfNetwork: n.ovfNetwork })),
      [
        { id: '3', source: { type: 'network', network: 'lab' }, defaulted: false, ovfNetwork: 'LAN' },
        { id: '4', source: { type: 'bridge', bridge: 'br0' }, defaulted: false, ovfNetwork: 'DMZ' },
        { id: '5', source: { type: 'network', network: 'default' }, defaulted: true, ovfNetwork: 'Other' },
        { id: '6', source: { type: 'network', network: 'default' }, defaulted: true, ovfNetwork: undefined },
      ],
    );
  });
});

describe('mapVirtualSystem: processors and memory', () => {
  it('reads memory in "byte * 2^30"', () => {
    assert.equal(mapItems(cpuAndMemory(1, '4', 'byte * 2^30')).memoryBytes, 4 * 2 ** 30);
  });

  it('reads memory in VirtualBox "MegaBytes" and in "byte * 10^6"', () => {
    assert.equal(mapItems(cpuAndMemory(1, '512', 'MegaBytes')).memoryBytes, 512 * 2 ** 20);
    assert.equal(mapItems(cpuAndMemory(1, '1000', 'byte * 10^6')).memoryBytes, 1_000_000_000);
  });

  it('assumes MiB, with a warning, when memory has no AllocationUnits', () => {
    const m = mapItems([cpuAndMemory()[0]!, item({ InstanceID: '2', ResourceType: '4', VirtualQuantity: '256' })]);
    assert.equal(m.memoryBytes, 256 * 2 ** 20);
    assert.ok(m.warnings.some((w) => /no AllocationUnits/.test(w)));
  });

  it('refuses unreadable memory units and quantities', () => {
    assert.throws(() => mapItems(cpuAndMemory(1, '256', 'hertz * 10^6')), (err: unknown) => err instanceof OvfParseError && /hertz/.test(err.message) && /AllocationUnits/.test(err.element ?? ''));
    assert.throws(() => mapItems(cpuAndMemory(1, '${MEM}')), (err: unknown) => err instanceof OvfParseError && /VirtualQuantity/.test(err.message));
  });

  it('uses the default memory size, with a warning, when there is no memory Item', () => {
    const m = mapItems([cpuAndMemory()[0]!]);
    assert.equal(m.memoryBytes, mappings.defaults.memoryMiBWhenAbsent * 2 ** 20);
    assert.ok(m.warnings.some((w) => /no memory Item/.test(w)), m.warnings.join('\n'));
  });

  it('refuses a processor count that is not a positive integer', () => {
    assert.throws(() => mapItems(cpuAndMemory(0)), (err: unknown) => err instanceof OvfParseError && /not a positive integer/.test(err.message));
  });

  it('derives the topology from vmw:CoresPerSocket', () => {
    const cpu = item({ InstanceID: '1', ResourceType: '3', VirtualQuantity: '4' }, undefined, '        <vmw:CoresPerSocket ovf:required="false">2</vmw:CoresPerSocket>\n');
    const m = mapItems([cpu, cpuAndMemory()[1]!]);
    assert.equal(m.vcpus, 4);
    assert.deepEqual(m.topology, { sockets: 2, cores: 2, threads: 1 });
  });

  it('gives no topology when the CPU count is not a multiple of CoresPerSocket', () => {
    const cpu = item({ InstanceID: '1', ResourceType: '3', VirtualQuantity: '3' }, undefined, '        <vmw:CoresPerSocket ovf:required="false">2</vmw:CoresPerSocket>\n');
    const m = mapItems([cpu, cpuAndMemory()[1]!]);
    assert.equal(m.vcpus, 3);
    assert.equal(m.topology, undefined);
  });

  it('uses the ovf:bound="normal" item and ignores min and max', () => {
    const m = mapItems([
      item({ InstanceID: '1', ResourceType: '3', VirtualQuantity: '1' }, 'ovf:bound="min"'),
      item({ InstanceID: '1', ResourceType: '3', VirtualQuantity: '2' }, 'ovf:bound="normal"'),
      item({ InstanceID: '1', ResourceType: '3', VirtualQuantity: '8' }, 'ovf:bound="max"'),
      cpuAndMemory()[1]!,
    ]);
    assert.equal(m.vcpus, 2);
  });

  it('uses the default deployment option for items marked ovf:configuration', () => {
    const text = ovfDocument({
      systems: [
        {
          id: 'vm',
          items: [
            cpuAndMemory()[0]!,
            item({ InstanceID: '2', ResourceType: '4', VirtualQuantity: '2', AllocationUnits: 'byte * 2^30' }, 'ovf:configuration="small"'),
            item({ InstanceID: '2', ResourceType: '4', VirtualQuantity: '8', AllocationUnits: 'byte * 2^30' }, 'ovf:configuration="large"'),
          ],
        },
      ],
    }).replace(
      '  <NetworkSection>',
      '  <DeploymentOptionSection>\n    <Info>Sizes</Info>\n    <Configuration ovf:id="small"><Label>Small</Label><Description>S</Description></Configuration>\n    <Configuration ovf:id="large" ovf:default="true"><Label>Large</Label><Description>L</Description></Configuration>\n  </DeploymentOptionSection>\n  <NetworkSection>',
    );
    const env = parseEnvelope(Buffer.from(text), 'options.ovf');
    const m = mapVirtualSystem(env, env.virtualSystems[0]!, mappings, { profile: 'faithful' });
    assert.equal(m.memoryBytes, 8 * 2 ** 30);
  });
});

describe('mapVirtualSystem: other devices and the guest OS', () => {
  it('maps video by VirtualSystemType, sound, USB and the vTPM', () => {
    const extra = [
      item({ InstanceID: '3', ResourceType: '24' }),
      item({ InstanceID: '4', ResourceType: '1', ResourceSubType: 'vmware.soundcard.hdaudio' }),
      item({ InstanceID: '5', ResourceType: '23', ResourceSubType: 'vmware.usb.xhci' }),
      item({ InstanceID: '6', ResourceType: '1', ResourceSubType: 'vmware.vtpm' }),
    ];
    const vmx = mapItems([...cpuAndMemory(), ...extra]);
    assert.deepEqual(vmx.video, { model: 'vmvga' });
    assert.deepEqual(vmx.sounds, [{ model: 'ich9' }]);
    assert.deepEqual(vmx.usb, [{ model: 'qemu-xhci' }]);
    assert.deepEqual(vmx.tpm, { model: 'tpm-crb', version: '2.0' });
    assert.deepEqual(mapItems([...cpuAndMemory(), ...extra], {}, { systemType: 'virtualbox-2.2' }).video, { model: 'vga' });
    assert.deepEqual(mapItems([...cpuAndMemory(), ...extra], { profile: 'virtio' }).video, { model: 'virtio' });
  });

  it('keeps an oVirt video item (ResourceType 20, Type video) a video device under the virtio profile', () => {
    const video: ItemSpec = { rasd: { InstanceID: '5', ResourceType: '20' }, extraXml: '        <Type>video</Type><Device>qxl</Device>\n' };
    assert.deepEqual(mapItems([...cpuAndMemory(), video], {}, { systemType: 'ENGINE 4.4.0.0' }).video, { model: 'qxl' });
    const virtio = mapItems([...cpuAndMemory(), video], { profile: 'virtio' }, { systemType: 'ENGINE 4.4.0.0' });
    assert.ok(virtio.video !== undefined, 'the oVirt video item yields a video device');
  });

  it('imports the oVirt fixture without --lax: graphics framebuffer ignored, NIC subtype 3 is virtio, MAC from rasd:MACAddress', () => {
    const env = parseEnvelope(readFileSync(join(DATA_DIR, 'ovirt-style.ovf')), 'ovirt-style.ovf');
    const m = mapVirtualSystem(env, env.virtualSystems[0]!, mappings, { profile: 'faithful' });
    assert.equal(m.nics[0]!.model, 'virtio');
    assert.equal(m.nics[0]!.mac, '56:6f:00:00:00:01');
    assert.deepEqual(m.topology, { sockets: 1, cores: 2, threads: 1 });
  });

  it('looks the guest up by vmw:osType first, then by the CIM OS id', () => {
    const a = mapItems(cpuAndMemory(), {}, { osAttrs: 'ovf:id="74" vmw:osType="ubuntu64Guest"' });
    assert.equal(a.osinfo, 'http://ubuntu.com/ubuntu/22.04');
    assert.equal(a.osFamily, 'linux');
    const b = mapItems(cpuAndMemory(), {}, { osAttrs: 'ovf:id="74"' });
    assert.equal(b.osinfo, 'http://microsoft.com/win/7');
    assert.equal(b.osFamily, 'windows');
    const c = mapItems(cpuAndMemory(), {}, { osAttrs: 'ovf:id="9999" vmw:osType="plan9Guest"' });
    assert.equal(c.osinfo, undefined);
    assert.equal(c.osFamily, undefined);
  });

  it('refuses an unknown profile with a UsageError naming the known ones', () => {
    assert.throws(() => mapItems(cpuAndMemory(), { profile: 'fastest' }), (err: unknown) => err instanceof UsageError && /faithful, virtio/.test(err.message));
  });

  it('refuses a disk whose HostResource names no Disk', () => {
    assert.throws(() => mapItems([...cpuAndMemory(), pvscsi, diskOn('3', '0', '4', 'ovf:/disk/nope')]), (err: unknown) => err instanceof OvfParseError && /names no Disk/.test(err.message));
  });

  it('leaves a CD-ROM whose HostResource points outside the package empty, with a warning', () => {
    const m = mapItems([...cpuAndMemory(), item({ InstanceID: '3', ResourceType: '15', HostResource: 'http://example.com/x.iso' })]);
    assert.equal(m.disks[0]!.file, undefined);
    assert.ok(m.warnings.some((w) => /points outside the package/.test(w)));
  });

  it('resolves an oVirt disk whose HostResource is the imageGroup/imageId file reference', () => {
    const text = ovfDocument({
      files: [{ id: 'image-1', href: 'group-1/image-1' }],
      disks: [{ id: 'image-1', capacity: '1', units: 'byte * 2^30' }],
      systems: [{ id: 'vm', systemType: 'ENGINE 4.4.0.0', items: [...cpuAndMemory(), item({ InstanceID: 'image-1', ResourceType: '17', HostResource: 'group-1/image-1' })] }],
    });
    const env = parseEnvelope(Buffer.from(text), 'ovirt.ovf');
    const m = mapVirtualSystem(env, env.virtualSystems[0]!, mappings, { profile: 'faithful' });
    assert.equal(m.disks[0]!.ovfDisk?.diskId, 'image-1');
  });

  it('takes EFI firmware from the vbox:Machine/Hardware/Firmware element VirtualBox writes', () => {
    const base = readFileSync(join(DATA_DIR, 'vbox-ovf20.ovf'), 'utf8');
    for (const [firmware, expected] of [['EFI', 'efi'], ['EFI64', 'efi'], ['BIOS', 'bios']] as const) {
      const text = base.replace('</vbox:Machine>', `<Hardware><Firmware type="${firmware}"/></Hardware></vbox:Machine>`);
      assert.ok(text.includes(`Firmware type="${firmware}"`));
      const env = parseEnvelope(Buffer.from(text), 'vbox-efi.ovf');
      assert.equal(mapVirtualSystem(env, env.virtualSystems[0]!, mappings, { profile: 'faithful' }).firmware, expected);
    }
  });
});
