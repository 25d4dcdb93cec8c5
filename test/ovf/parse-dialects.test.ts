// parseEnvelope across encodings and dialects: UTF-8 BOM, UTF-16, VMware's OVF 0.9, oVirt, VirtualSystemCollection.

import assert from 'node:assert/strict';
import { loadMappings } from '../../src/mapping/load.js';
import { identifyProducer } from '../../src/mapping/producer.js';
import { describe, it } from 'node:test';
import { parseEnvelope } from '../../src/ovf/parse.js';
import { envelope, fixture, item, parseFixture } from './parse-helpers.js';

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
    assert.equal(identifyProducer(env, loadMappings()), 'VMware');
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
    assert.equal(identifyProducer(env, loadMappings()), 'oVirt');
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
