// parseEnvelope on hand-written descriptors of every dialect, hostile inputs, and (when present) the shared corpus.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { OvfParseError, PackageError } from '../../src/errors.js';
import type { Envelope, Item } from '../../src/ovf/model.js';
import { parseEnvelope } from '../../src/ovf/parse.js';
import { CORPUS_DIR, DATA_DIR, withTempDir } from './helpers.js';

function fixture(name: string): Buffer {
  return readFileSync(join(DATA_DIR, name));
}

function parseFixture(name: string): Envelope {
  return parseEnvelope(fixture(name), name);
}

function item(env: Envelope, instanceId: string, system = 0): Item {
  const found = env.virtualSystems[system]!.hardware.items.find((i) => i.instanceId === instanceId);
  assert.ok(found, `no Item with InstanceID ${instanceId}`);
  return found;
}

/** Asserts that parsing `text` fails with an OvfParseError whose message matches. */
function assertRefused(text: string | Buffer, message: RegExp, file = 'bad.ovf'): OvfParseError {
  let caught: unknown;
  try {
    parseEnvelope(typeof text === 'string' ? Buffer.from(text) : text, file);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof OvfParseError, `expected OvfParseError, got ${caught === undefined ? 'success' : String(caught)}`);
  assert.match(caught.message, message);
  assert.equal(caught.file, file);
  return caught;
}

const OVF1 = 'http://schemas.dmtf.org/ovf/envelope/1';

/** A minimal, valid OVF 1.x envelope around `body`. */
function envelope(body: string, ns = OVF1): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Envelope xmlns="${ns}" xmlns:ovf="${ns}">\n${body}\n</Envelope>\n`;
}

describe('parseEnvelope: an OVF 1.0 descriptor as ovftool writes it', () => {
  const env = parseFixture('vmware-ovf10.ovf');

  it('reports version 1, the file name and the VMware producer', () => {
    assert.equal(env.version, '1');
    assert.equal(env.file, 'vmware-ovf10.ovf');
    assert.equal(env.producer, 'VMware');
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

  it('reads processor and memory quantities and units, and vmw:CoresPerSocket as an extra', () => {
    const cpu = item(env, '1');
    assert.equal(cpu.virtualQuantity, '4');
    assert.equal(cpu.allocationUnits, 'hertz * 10^6');
    assert.equal(cpu.extra['CoresPerSocket'], '2');
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
    assert.equal(env.producer, 'VirtualBox');
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
    assert.equal(env.producer, 'VMware');
  });
});

describe('parseEnvelope: text encodings', () => {
  it('skips a UTF-8 byte-order mark and decodes UTF-8 text', () => {
    const bytes = fixture('utf8-bom.ovf');
    assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'the fixture starts with a BOM');
    const env = parseEnvelope(bytes, 'utf8-bom.ovf');
    assert.equal(env.version, '1');
    assert.equal(env.virtualSystems[0]!.name, 'Zoë’s VM');
    assert.deepEqual(env.references, []);
    assert.deepEqual(env.disks, [{ diskId: 'blank', capacityBytes: 1_000_000_000 }]);
  });

  it('reads a file that declares encoding="utf-16" but is UTF-8 with CRLF line ends', () => {
    const bytes = fixture('utf16-declared-crlf.ovf');
    const raw = bytes.toString('latin1');
    assert.match(raw, /^<\?xml version="1\.0" encoding="utf-16"\?>\r\n/, 'the fixture declares UTF-16 and uses CRLF');
    const env = parseEnvelope(bytes, 'utf16-declared-crlf.ovf');
    const vs = env.virtualSystems[0]!;
    assert.equal(vs.name, 'Café server');
    assert.deepEqual(env.networks, [{ name: 'Pool-wide network', description: 'Réseau partagé' }]);
    assert.deepEqual(env.disks, [
      { diskId: 'xen-disk', capacityBytes: 2147483648, fileRef: 'xen-file', format: 'http://www.microsoft.com/technet/virtualserver/downloads/vhdspec.mspx' },
    ]);
    assert.deepEqual(vs.hardware.virtualSystemTypes, ['xen-3.0-x64']);
    for (const i of vs.hardware.items) {
      for (const value of Object.values(i.extra)) assert.ok(!value.includes('\r'), `no carriage return in ${JSON.stringify(value)}`);
    }
    assert.equal(item(env, '4').resourceSubType, 'Virtual Hard Disk Image');
    assert.equal(item(env, '3').address, '00:16:3e:00:00:01');
  });

  it('reads a real UTF-16LE file with a byte-order mark like its UTF-8 twin', () => {
    const text = fixture('utf16-declared-crlf.ovf').toString('utf8');
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const env = parseEnvelope(utf16, 'utf16le.ovf');
    const twin = parseEnvelope(fixture('utf16-declared-crlf.ovf'), 'utf16le.ovf');
    assert.deepEqual(env, twin);
  });

  it('reads a real UTF-16BE file with a byte-order mark', () => {
    const text = fixture('utf16-declared-crlf.ovf').toString('utf8');
    const le = Buffer.from(text, 'utf16le');
    const be = Buffer.alloc(le.length);
    for (let i = 0; i < le.length; i += 2) {
      be[i] = le[i + 1]!;
      be[i + 1] = le[i]!;
    }
    const env = parseEnvelope(Buffer.concat([Buffer.from([0xfe, 0xff]), be]), 'utf16be.ovf');
    assert.equal(env.virtualSystems[0]!.name, 'Café server');
  });
});

describe('parseEnvelope: VMware OVF 0.9', () => {
  const env = parseFixture('vmware-ovf09.ovf');

  it('reports version 0.9 and reads Section xsi:type="ovf:DiskSection_Type" and NetworkSection_Type', () => {
    assert.equal(env.version, '0.9');
    assert.deepEqual(env.references, [{ id: 'file1', href: 'old-disk1.vmdk', sizeBytes: 123456 }]);
    assert.deepEqual(env.disks, [{ diskId: 'vmdisk1', capacityBytes: 536870912, fileRef: 'file1', format: 'http://www.vmware.com/specifications/vmdk.html#sparse' }]);
    assert.deepEqual(env.networks, [{ name: 'bridged', description: 'The bridged network' }]);
  });

  it('reads Content xsi:type="ovf:VirtualSystem_Type" as a VirtualSystem with its OS section', () => {
    assert.equal(env.virtualSystems.length, 1);
    const vs = env.virtualSystems[0]!;
    assert.equal(vs.id, 'old-vm');
    assert.deepEqual(vs.operatingSystem, { id: 36, vmwOsType: 'other26xLinuxGuest' });
    assert.deepEqual(vs.hardware.virtualSystemTypes, ['vmx-04']);
    assert.equal(env.producer, 'VMware');
  });

  it('reads 0.9 items: InstanceId and Caption spellings, /disk/ID host resources', () => {
    const items = env.virtualSystems[0]!.hardware.items;
    assert.deepEqual(items.map((i) => i.instanceId), ['1', '2', '3', '4', '5']);
    assert.equal(item(env, '2').elementName, '256MB of memory');
    assert.equal(item(env, '2').allocationUnits, 'MegaBytes');
    assert.equal(item(env, '3').resourceSubType, 'buslogic');
    assert.deepEqual(item(env, '4').hostResource, ['/disk/vmdisk1']);
    assert.equal(item(env, '4').parent, '3');
    assert.deepEqual(item(env, '5').connection, ['bridged']);
    assert.equal(item(env, '5').resourceSubType, 'PCNet32');
  });
});

describe('parseEnvelope: oVirt dialect', () => {
  const text = fixture('ovirt-style.ovf').toString('utf8');

  it('reads the trailing-slash namespace, Section/Content xsi:type and ovf:size in GiB', () => {
    // The References check is exercised by the next test; here the disk has no fileRef.
    const env = parseEnvelope(Buffer.from(text.replace(' ovf:fileRef="group-1/image-1"', '')), 'ovirt-style.ovf');
    assert.equal(env.version, '1');
    assert.equal(env.producer, 'oVirt');
    assert.deepEqual(env.networks, [{ name: 'ovirtmgmt' }]);
    assert.equal(env.disks[0]!.diskId, 'image-1');
    assert.equal(env.disks[0]!.capacityBytes, 3 * 2 ** 30);
    assert.equal(env.disks[0]!.parentRef, undefined, 'an empty ovf:parentRef is no parent');
    const vs = env.virtualSystems[0]!;
    assert.equal(vs.id, 'out');
    assert.equal(vs.name, 'ovirt-vm');
    assert.deepEqual(vs.operatingSystem, { description: 'rhel_8x64' });
    const items = vs.hardware.items;
    assert.deepEqual(items.map((i) => [i.instanceId, i.resourceType]), [
      ['1', 3],
      ['2', 4],
      ['image-1', 17],
      ['nic-1', 10],
      ['fb-1', 26],
    ]);
    assert.equal(items[0]!.extra['cpu_per_socket'], '2');
    assert.equal(items[2]!.extra['Type'], 'disk');
    assert.deepEqual(items[2]!.hostResource, ['group-1/image-1']);
    assert.equal(items[3]!.extra['MACAddress'], '56:6f:00:00:00:01');
  });

  it('accepts oVirt disks whose ovf:fileRef names the File by its href', () => {
    const env = parseEnvelope(Buffer.from(text), 'ovirt-style.ovf');
    assert.deepEqual(env.references, [{ id: 'image-1', href: 'group-1/image-1', sizeBytes: 3221225472 }]);
    const ref = env.disks[0]!.fileRef;
    const file = env.references.find((f) => f.id === ref || f.href === ref);
    assert.equal(file?.href, 'group-1/image-1', `the disk's fileRef ${String(ref)} leads to the File`);
  });
});

describe('parseEnvelope: VirtualSystemCollection', () => {
  it('collects the VirtualSystems of nested collections and records the collection', () => {
    const vs = (id: string) => `<VirtualSystem ovf:id="${id}"><Info>x</Info><VirtualHardwareSection><Info>hw</Info></VirtualHardwareSection></VirtualSystem>`;
    const env = parseEnvelope(
      Buffer.from(envelope(`<VirtualSystemCollection ovf:id="vapp"><Info>vApp</Info><Name>The vApp</Name>${vs('a')}<VirtualSystemCollection ovf:id="inner">${vs('b')}</VirtualSystemCollection></VirtualSystemCollection>`)),
      'vapp.ovf',
    );
    assert.deepEqual(env.collection, { id: 'vapp', name: 'The vApp' });
    assert.deepEqual(env.virtualSystems.map((v) => v.id), ['a', 'b']);
  });
});

describe('parseEnvelope: refused input', () => {
  it('refuses a DOCTYPE with an external SYSTEM entity and never reads the entity file', async () => {
    await withTempDir(async (dir) => {
      const secret = join(dir, 'secret.txt');
      const content = 'TOP-SECRET-7f3a9c';
      writeFileSync(secret, content);
      const old = new Date('2001-01-01T00:00:00Z');
      utimesSync(secret, old, new Date());
      const text = `<?xml version="1.0"?>\n<!DOCTYPE Envelope [\n  <!ENTITY xxe SYSTEM "file://${secret}">\n]>\n<Envelope xmlns="${OVF1}" xmlns:ovf="${OVF1}">\n  <VirtualSystem ovf:id="&xxe;"><Info>&xxe;</Info><Name>&xxe;</Name><VirtualHardwareSection><Info>&xxe;</Info></VirtualHardwareSection></VirtualSystem>\n</Envelope>\n`;
      const err = assertRefused(text, /DOCTYPE/, 'xxe.ovf');
      assert.ok(!err.message.includes(content), 'the message does not carry the entity file content');
      assert.equal(err.element, '!DOCTYPE');
      assert.match(err.message, /^xxe\.ovf:2: /, 'the message gives the DOCTYPE line');
      assert.equal(statSync(secret).atimeMs, old.getTime(), 'the entity file was not opened for reading');
    });
  });

  it('refuses a DOCTYPE with only internal entities (billion laughs)', () => {
    const lol = `<?xml version="1.0"?>\n<!DOCTYPE Envelope [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n<Envelope xmlns="${OVF1}"><Info>&b;</Info></Envelope>\n`;
    assertRefused(lol, /DOCTYPE/);
  });

  it('refuses an undefined entity reference in text', () => {
    const err = assertRefused(envelope('<VirtualSystem ovf:id="x"><Info>Tom &foo; Jerry</Info><VirtualHardwareSection><Info>x</Info></VirtualHardwareSection></VirtualSystem>'), /&foo;/);
    assert.match(err.message, /not defined/);
  });

  it('refuses an undefined entity reference in an attribute', () => {
    assertRefused(envelope('<VirtualSystem ovf:id="&foo;"><Info>x</Info><VirtualHardwareSection><Info>x</Info></VirtualHardwareSection></VirtualSystem>'), /&foo;/);
  });

  it('refuses a stray ampersand', () => {
    assertRefused(envelope('<VirtualSystem ovf:id="x"><Info>Tom & Jerry</Info><VirtualHardwareSection><Info>x</Info></VirtualHardwareSection></VirtualSystem>'), /&|not well-formed/);
  });

  it('decodes the predefined entities and character references', () => {
    const env = parseEnvelope(
      Buffer.from(envelope('<VirtualSystem ovf:id="a&amp;b"><Info>x</Info><Name>&lt;&#65;&#x42;&gt; &quot;&apos; &amp;lt;</Name><VirtualHardwareSection><Info>x</Info></VirtualHardwareSection></VirtualSystem>')),
      'entities.ovf',
    );
    assert.equal(env.virtualSystems[0]!.id, 'a&b');
    assert.equal(env.virtualSystems[0]!.name, `<AB> "' &lt;`);
  });

  it('takes CDATA sections literally', () => {
    const env = parseEnvelope(
      Buffer.from(envelope('<VirtualSystem ovf:id="x"><Info><![CDATA[Tom & Jerry]]></Info><Name><![CDATA[&amp;]]></Name><VirtualHardwareSection><Info>x</Info></VirtualHardwareSection></VirtualSystem>')),
      'cdata.ovf',
    );
    assert.equal(env.virtualSystems[0]!.info, 'Tom & Jerry');
    assert.equal(env.virtualSystems[0]!.name, '&amp;');
  });

  it('refuses characters that XML 1.0 forbids, raw or as character references', () => {
    const annotated = (text: string) => envelope(`<VirtualSystem ovf:id="x"><Info>x</Info><AnnotationSection><Info>a</Info><Annotation>${text}</Annotation></AnnotationSection><VirtualHardwareSection><Info>x</Info></VirtualHardwareSection></VirtualSystem>`);
    for (const text of ['&#7;', '&#xD800;', '&#xFFFE;', 'raw\u0007bell', 'raw\u0000nul']) {
      assertRefused(annotated(text), /character|not well-formed/);
    }
  });

  it('gives file:line:col for XML that is not well-formed', () => {
    const text = `<?xml version="1.0"?>\n<Envelope xmlns="${OVF1}">\n  <References>\n    <File ovf:id="a" ovf:href="a">\n  </References>\n</Envelope>\n`;
    assertRefused(text.replace('xmlns=', 'xmlns:ovf="' + OVF1 + '" xmlns='), /^broken\.ovf:5:3: not well-formed XML/, 'broken.ovf');
  });

  it('gives file:line:col for an unterminated attribute value', () => {
    assertRefused(`<Envelope xmlns="${OVF1}">\n<References a="1></References></Envelope>`, /^quote\.ovf:\d+:\d+: /, 'quote.ovf');
  });

  it('refuses the unknown envelope namespace /envelope/3', () => {
    const err = assertRefused(envelope('<VirtualSystem ovf:id="x"/>', 'http://schemas.dmtf.org/ovf/envelope/3'), /unknown OVF envelope namespace "http:\/\/schemas\.dmtf\.org\/ovf\/envelope\/3"/);
    assert.equal(err.element, 'Envelope/@xmlns');
  });

  it('refuses an Envelope in no namespace and a root that is no Envelope', () => {
    assertRefused('<Envelope><References/></Envelope>', /\(none\)/);
    assertRefused(`<Domain xmlns="${OVF1}"/>`, /not an OVF <Envelope>/);
  });

  it('refuses a Disk whose ovf:fileRef names no File', () => {
    const err = assertRefused(
      envelope('<References><File ovf:id="file1" ovf:href="a.vmdk"/></References><DiskSection><Info>d</Info><Disk ovf:diskId="d1" ovf:capacity="1" ovf:fileRef="file9"/></DiskSection>'),
      /Disk "d1" refers to ovf:fileRef="file9"/,
    );
    assert.match(err.element ?? '', /fileRef/);
  });

  it('refuses a Disk whose ovf:parentRef names no Disk', () => {
    assertRefused(envelope('<DiskSection><Info>d</Info><Disk ovf:diskId="d1" ovf:capacity="1" ovf:parentRef="d0"/></DiskSection>'), /parentRef="d0"/);
  });

  it('refuses a File without ovf:href and a Disk without ovf:diskId', () => {
    assertRefused(envelope('<References><File ovf:id="file1"/></References>'), /References\/File\[1\] needs ovf:id and ovf:href/);
    assertRefused(envelope('<DiskSection><Info>d</Info><Disk ovf:capacity="1"/></DiskSection>'), /has no ovf:diskId/);
  });

  it('accepts a Disk without ovf:capacity (Ganeti) with a warning and no capacity', () => {
    const env = parseEnvelope(Buffer.from(envelope('<DiskSection><Info>d</Info><Disk ovf:diskId="d1"/></DiskSection>')), 'ganeti.ovf');
    assert.deepEqual(env.disks, [{ diskId: 'd1' }]);
    assert.ok(env.warnings.some((w) => /\(d1\) has no ovf:capacity/.test(w)), env.warnings.join('\n'));
  });

  it('refuses a Disk capacity holding a ${...} placeholder, naming the attribute', () => {
    const err = assertRefused(envelope('<DiskSection><Info>d</Info><Disk ovf:diskId="d1" ovf:capacity="${SIZE}"/></DiskSection>'), /\$\{SIZE\}/);
    assert.equal(err.element, 'DiskSection/Disk[1]/@ovf:capacity');
  });

  it('refuses unknown capacity allocation units, naming the attribute', () => {
    const err = assertRefused(envelope('<DiskSection><Info>d</Info><Disk ovf:diskId="d1" ovf:capacity="1" ovf:capacityAllocationUnits="hertz * 10^6"/></DiskSection>'), /hertz/);
    assert.equal(err.element, 'DiskSection/Disk[1]/@ovf:capacityAllocationUnits');
  });

  it('refuses a VirtualSystem without VirtualHardwareSection and an Item whose ResourceType is no number', () => {
    assertRefused(envelope('<VirtualSystem ovf:id="x"><Info>x</Info></VirtualSystem>'), /VirtualSystem "x" has no VirtualHardwareSection/);
    assertRefused(
      envelope('<VirtualSystem ovf:id="x" xmlns:rasd="r"><Info>x</Info><VirtualHardwareSection><Info>x</Info><Item><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>cpu</rasd:ResourceType></Item></VirtualHardwareSection></VirtualSystem>'),
      /ResourceType "cpu" is not a number/,
    );
  });

  it('refuses an undeclared namespace prefix', () => {
    assertRefused(envelope('<vmw:Thing/>'), /undeclared namespace prefix/);
  });

  it('refuses elements nested 200 levels deep', () => {
    const deep = '<Annotation>'.repeat(200) + 'x' + '</Annotation>'.repeat(200);
    assertRefused(envelope(`<AnnotationSection><Info>x</Info>${deep}</AnnotationSection>`), /nest/i);
  });

  it('accepts elements nested 30 levels deep', () => {
    const deep = '<Annotation>'.repeat(30) + 'x' + '</Annotation>'.repeat(30);
    assert.equal(parseEnvelope(Buffer.from(envelope(`<AnnotationSection><Info>x</Info>${deep}</AnnotationSection>`)), 'deep.ovf').version, '1');
  });
});

describe('parseEnvelope: the shared corpus of real descriptors', () => {
  const present = existsSync(CORPUS_DIR);
  const files = present ? readdirSync(CORPUS_DIR).filter((f) => f.endsWith('.ovf')).sort() : [];

  it('parses every descriptor or refuses it with an OvfParseError or PackageError', (t) => {
    if (!present) {
      t.skip('corpus not present');
      return;
    }
    assert.ok(files.length > 0, 'the corpus holds .ovf files');
    let parsed = 0;
    for (const name of files) {
      try {
        parseEnvelope(readFileSync(join(CORPUS_DIR, name)), name);
        parsed += 1;
      } catch (err) {
        assert.ok(err instanceof PackageError, `${name}: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
        assert.ok(err.message.includes(name), `${name}: the message names the file: ${err.message}`);
      }
    }
    t.diagnostic(`${parsed} of ${files.length} corpus descriptors parse`);
  });

  const broken: [string, RegExp][] = [
    ['ganeti-wrong-xml.ovf', /^ganeti-wrong-xml\.ovf:\d+:\d+: not well-formed XML/],
    ['cot-invalid.ovf', /fileRef|parentRef|HostResource|References/],
    ['proxmox-xxe-entity.ovf', /DOCTYPE/],
    ['oraclevm-ol-template.ovf', /\$\{/],
    ['cot-ersatz-ovf3.ovf', /envelope\/3/],
  ];
  for (const [name, message] of broken) {
    it(`refuses the deliberately broken ${name}`, (t) => {
      if (!present) {
        t.skip('corpus not present');
        return;
      }
      if (!existsSync(join(CORPUS_DIR, name))) {
        t.skip(`${name} not in the corpus`);
        return;
      }
      assert.throws(
        () => parseEnvelope(readFileSync(join(CORPUS_DIR, name)), name),
        (err: unknown) => err instanceof OvfParseError && message.test(err.message),
      );
    });
  }

  for (const name of ['xenserver-sample-app.ovf', 'vmware-disktypes-utf8-bom.ovf', 'vbox-ubuntu-ovf20.ovf', 'cot-ovf09-eula.ovf', 'vmware-ovftool-win10-prefixed.ovf']) {
    it(`parses the awkward but valid ${name}`, (t) => {
      if (!present || !existsSync(join(CORPUS_DIR, name))) {
        t.skip('corpus not present');
        return;
      }
      const env = parseEnvelope(readFileSync(join(CORPUS_DIR, name)), name);
      assert.ok(env.virtualSystems.length > 0);
    });
  }

  it('reads the same envelope from the BOM copy of the sun disk-types vApp as from the original', (t) => {
    const a = join(CORPUS_DIR, 'vmware-vcenter-sun-disktypes-vapp.ovf');
    const b = join(CORPUS_DIR, 'vmware-disktypes-utf8-bom.ovf');
    if (!existsSync(a) || !existsSync(b)) {
      t.skip('corpus not present');
      return;
    }
    assert.deepEqual(parseEnvelope(readFileSync(b), 'x.ovf'), parseEnvelope(readFileSync(a), 'x.ovf'));
  });
});
