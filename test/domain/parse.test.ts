// parseDomainXml: libvirt domain XML (as virDomainGetXMLDesc returns it) to the DomainDescription export maps.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDomainXml as parseWith } from '../../src/domain/parse.js';
import { scaledToBytes } from '../../src/domain/scaled.js';
import { LibvirtError } from '../../src/errors.js';
import { rules } from './helpers.js';

const parseDomainXml = (xml: string) => parseWith(xml, rules);

/** A domain as libvirt 9 prints an inactive q35/UEFI guest, with the devices under test. */
function domainXml(devices: string, extra = ''): string {
  return `<domain type='kvm'>
  <name>appliance</name>
  <uuid>0d4a9f58-8a2b-4f53-9a4e-1d5a2c3b4e5f</uuid>
  <description>Exported &amp; checked</description>
  <metadata>
    <libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0">
      <libosinfo:os id="http://debian.org/debian/12"/>
    </libosinfo:libosinfo>
  </metadata>
  <memory unit='KiB'>2097152</memory>
  <currentMemory unit='KiB'>1048576</currentMemory>
  <vcpu placement='static' current='2'>4</vcpu>
  <os>
    <type arch='x86_64' machine='pc-q35-8.2'>hvm</type>
    <boot dev='hd'/>
  </os>
  ${extra}
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
${devices}
  </devices>
</domain>
`;
}

const throwsLibvirt = (fn: () => unknown, pattern: RegExp): void => {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof LibvirtError, `expected LibvirtError, got ${String(err)}`);
    assert.equal(err.func, 'virDomainGetXMLDesc');
    assert.equal(err.code, 27);
    assert.match(err.message, pattern);
    return true;
  });
};

describe('parseDomainXml: the domain itself', () => {
  it('reads name, uuid, description, the libosinfo id, memory in bytes, vCPUs, arch and machine', () => {
    const d = parseDomainXml(domainXml(''));
    assert.equal(d.name, 'appliance');
    assert.equal(d.uuid, '0d4a9f58-8a2b-4f53-9a4e-1d5a2c3b4e5f');
    assert.equal(d.description, 'Exported & checked');
    assert.equal(d.osinfo, 'http://debian.org/debian/12');
    assert.equal(d.memoryBytes, 2 * 2 ** 30);
    assert.equal(d.vcpus, 4);
    assert.equal(d.vcpusCurrent, 2);
    assert.equal(d.arch, 'x86_64');
    assert.equal(d.machine, 'pc-q35-8.2');
    assert.equal(d.firmware, 'bios');
    assert.equal(d.secureBoot, false);
    assert.equal(d.topology, undefined);
    assert.deepEqual([d.controllers, d.disks, d.interfaces, d.videos, d.sounds, d.tpm], [[], [], [], [], [], undefined]);
  });

  it('reads the CPU topology', () => {
    const d = parseDomainXml(domainXml('', "<cpu mode='host-passthrough'><topology sockets='2' dies='1' cores='2' threads='1'/></cpu>"));
    assert.deepEqual(d.topology, { sockets: 2, dies: 1, cores: 2, threads: 1 });
  });

  it('honours the memory unit attribute: KiB by default, binary and decimal suffixes, bytes', () => {
    const memory = (unit: string | undefined, value: string) => parseDomainXml(domainXml('').replace("<memory unit='KiB'>2097152</memory>", `<memory${unit !== undefined ? ` unit='${unit}'` : ''}>${value}</memory>`)).memoryBytes;
    assert.equal(memory(undefined, '1024'), 1024 * 1024);
    assert.equal(memory('k', '1'), 1024);
    assert.equal(memory('MiB', '512'), 512 * 2 ** 20);
    assert.equal(memory('M', '3'), 3 * 2 ** 20);
    assert.equal(memory('GiB', '4'), 4 * 2 ** 30);
    assert.equal(memory('G', '1'), 2 ** 30);
    assert.equal(memory('b', '4096'), 4096);
    assert.equal(memory('bytes', '8192'), 8192);
    assert.equal(memory('KB', '1'), 1000);
    assert.equal(memory('MB', '2'), 2_000_000);
    assert.equal(memory('GB', '1'), 1e9);
    assert.equal(memory('TiB', '1'), 2 ** 40);
  });

  it('refuses memory it cannot read, naming the element', () => {
    throwsLibvirt(() => scaledToBytes('12', 'furlongs', '<memory>', 'KiB'), /<memory>: unknown unit "furlongs"/);
    throwsLibvirt(() => scaledToBytes('-1', 'KiB', '<memory>', 'KiB'), /not a non-negative integer/);
    throwsLibvirt(() => scaledToBytes('99999999', 'EiB', '<memory>', 'KiB'), /too large/);
  });

  it('refuses malformed XML, a DOCTYPE, another root element and a domain without name or memory', () => {
    throwsLibvirt(() => parseDomainXml('<domain><name>x</name>'), /not well-formed|cannot parse/);
    throwsLibvirt(() => parseDomainXml('<!DOCTYPE domain [<!ENTITY x "y">]><domain><name>&x;</name></domain>'), /DOCTYPE/);
    throwsLibvirt(() => parseDomainXml('<network><name>default</name></network>'), /root element is <network>/);
    throwsLibvirt(() => parseDomainXml("<domain type='kvm'><memory>1</memory></domain>"), /<name> is missing/);
    throwsLibvirt(() => parseDomainXml("<domain type='kvm'><name>x</name></domain>"), /<memory> is missing/);
    throwsLibvirt(() => parseDomainXml("<domain type='kvm'><name>x</name><memory>1</memory><vcpu>0</vcpu></domain>"), /<vcpu> "0"/);
  });
});

describe('parseDomainXml: firmware', () => {
  const withOs = (os: string) => parseDomainXml(domainXml('').replace(/<os>[\s\S]*?<\/os>/, os));

  it("is EFI for <os firmware='efi'>, with secure boot from the firmware feature", () => {
    const plain = withOs("<os firmware='efi'><type arch='x86_64' machine='q35'>hvm</type><firmware><feature enabled='no' name='secure-boot'/></firmware></os>");
    assert.deepEqual([plain.firmware, plain.secureBoot], ['efi', false]);
    const secure = withOs("<os firmware='efi'><type arch='x86_64' machine='q35'>hvm</type><firmware><feature enabled='yes' name='enrolled-keys'/><feature enabled='yes' name='secure-boot'/></firmware></os>");
    assert.deepEqual([secure.firmware, secure.secureBoot], ['efi', true]);
  });

  it('is EFI for a loader pointing at OVMF, with secure boot from loader secure=yes', () => {
    const ovmf = withOs("<os><type arch='x86_64' machine='q35'>hvm</type><loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader><nvram>/var/lib/libvirt/qemu/nvram/a_VARS.fd</nvram></os>");
    assert.deepEqual([ovmf.firmware, ovmf.secureBoot], ['efi', false]);
    const edk2 = withOs("<os><type arch='x86_64' machine='q35'>hvm</type><loader readonly='yes' secure='yes'>/usr/share/edk2/ovmf/OVMF_CODE.secboot.fd</loader></os>");
    assert.deepEqual([edk2.firmware, edk2.secureBoot], ['efi', true]);
  });

  it('is BIOS without firmware attribute or with a SeaBIOS loader', () => {
    assert.equal(withOs("<os><type arch='x86_64' machine='pc'>hvm</type><loader type='rom'>/usr/share/seabios/bios.bin</loader></os>").firmware, 'bios');
    assert.equal(withOs("<os><type arch='x86_64' machine='pc'>hvm</type></os>").secureBoot, false);
  });
});

describe('parseDomainXml: devices', () => {
  it('reads controllers with their index and model', () => {
    const d = parseDomainXml(domainXml("<controller type='scsi' index='0' model='virtio-scsi'/><controller type='sata' index='0'/><controller type='usb' index='0' model='qemu-xhci' ports='15'/><controller type='pci' index='1' model='pcie-root-port'/>"));
    assert.deepEqual(d.controllers, [
      { type: 'scsi', index: 0, model: 'virtio-scsi' },
      { type: 'sata', index: 0 },
      { type: 'usb', index: 0, model: 'qemu-xhci' },
      { type: 'pci', index: 1, model: 'pcie-root-port' },
    ]);
  });

  it('reads disks: device, bus, target, driver type, file, volume, block and network sources, drive address, readonly, boot order', () => {
    const d = parseDomainXml(
      domainXml(`
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/var/lib/libvirt/images/a &amp; b.qcow2'/><target dev='vda' bus='virtio'/><boot order='1'/><address type='pci' domain='0x0000' bus='0x04' slot='0x00' function='0x0'/></disk>
    <disk type='volume' device='disk'><driver name='qemu' type='raw'/><source pool='default' volume='data.img'/><target dev='sda' bus='scsi'/><address type='drive' controller='0' bus='0' target='2' unit='0'/></disk>
    <disk type='block' device='disk'><driver name='qemu' type='raw'/><source dev='/dev/vg0/lv'/><target dev='sdb' bus='sata'/><address type='drive' controller='1' bus='0' target='0' unit='3'/></disk>
    <disk type='network' device='disk'><source protocol='rbd' name='pool/image'/><target dev='vdb' bus='virtio'/></disk>
    <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><target dev='hdc'/><readonly/></disk>
    <disk type='file' device='floppy'><target dev='fda'/></disk>`),
    );
    assert.deepEqual(d.disks, [
      { device: 'disk', dev: 'vda', bus: 'virtio', source: { type: 'file', path: '/var/lib/libvirt/images/a & b.qcow2' }, readonly: false, driverType: 'qcow2', bootOrder: 1 },
      { device: 'disk', dev: 'sda', bus: 'scsi', source: { type: 'volume', pool: 'default', volume: 'data.img' }, readonly: false, driverType: 'raw', address: { controller: 0, bus: 0, target: 2, unit: 0 } },
      { device: 'disk', dev: 'sdb', bus: 'sata', source: { type: 'block', dev: '/dev/vg0/lv' }, readonly: false, driverType: 'raw', address: { controller: 1, bus: 0, target: 0, unit: 3 } },
      { device: 'disk', dev: 'vdb', bus: 'virtio', source: { type: 'network', protocol: 'rbd', name: 'pool/image' }, readonly: false },
      { device: 'cdrom', dev: 'hdc', bus: 'ide', source: { type: 'none' }, readonly: true, driverType: 'raw' },
      { device: 'floppy', dev: 'fda', bus: 'fdc', source: { type: 'none' }, readonly: false },
    ]);
  });

  it('refuses a disk without target dev or with an unknown device', () => {
    throwsLibvirt(() => parseDomainXml(domainXml("<disk type='file' device='disk'><source file='/a'/></disk>")), /<disk> number 1 has no <target dev>/);
    throwsLibvirt(() => parseDomainXml(domainXml("<disk type='file' device='tape'><target dev='st0'/></disk>")), /unknown device "tape"/);
  });

  it('reads interfaces: network, bridge, user and direct sources, models and lower-cased MACs', () => {
    const d = parseDomainXml(
      domainXml(`
    <interface type='network'><mac address='52:54:00:AB:CD:EF'/><source network='default'/><model type='virtio'/></interface>
    <interface type='bridge'><mac address='52:54:00:00:00:01'/><source bridge='br0'/><model type='e1000e'/></interface>
    <interface type='user'><mac address='52:54:00:00:00:02'/></interface>
    <interface type='direct'><source dev='eth0' mode='bridge'/><model type='vmxnet3'/></interface>`),
    );
    assert.deepEqual(d.interfaces, [
      { type: 'network', source: 'default', model: 'virtio', mac: '52:54:00:ab:cd:ef' },
      { type: 'bridge', source: 'br0', model: 'e1000e', mac: '52:54:00:00:00:01' },
      { type: 'user', mac: '52:54:00:00:00:02' },
      { type: 'direct', source: 'eth0', model: 'vmxnet3' },
    ]);
  });

  it('reads video models, sound models and the TPM with its backend', () => {
    const d = parseDomainXml(
      domainXml(`
    <video><model type='virtio' heads='1' primary='yes'/></video>
    <video><model type='none'/></video>
    <sound model='ich9'/>
    <sound model='ac97'/>
    <tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>`),
    );
    assert.deepEqual(d.videos, [{ model: 'virtio' }, { model: 'none' }]);
    assert.deepEqual(d.sounds, [{ model: 'ich9' }, { model: 'ac97' }]);
    assert.deepEqual(d.tpm, { backend: 'emulator', model: 'tpm-crb', version: '2.0' });
    const passthrough = parseDomainXml(domainXml("<tpm model='tpm-tis'><backend type='passthrough'><device path='/dev/tpm0'/></backend></tpm>"));
    assert.deepEqual(passthrough.tpm, { backend: 'passthrough', model: 'tpm-tis' });
  });
});
