// Domains built by planImport and buildDomainSpec from the test/data fixtures: structure (always) and libvirt's schema (when installed).

import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { planImport } from '../../src/import/plan.js';
import { parseXml } from '../../src/xml/parse.js';
import { cpuAndMemory, DATA_DIR, ovfDocument, withTempDir } from '../ovf/helpers.js';
import { attrs, children, itValidates, only, planToXml } from './helpers.js';

/** Plans a copy of a test/data fixture (or a generated descriptor) once for the tests of one describe block. */
function planned(fixture: string | { name: string; text: string }, opts: Parameters<typeof planToXml>[1] = {}, extraFiles: Record<string, Buffer> = {}) {
  const state = {} as Awaited<ReturnType<typeof planToXml>>;
  before(async () => {
    await withTempDir(async (dir) => {
      const name = typeof fixture === 'string' ? fixture : fixture.name;
      const ovf = join(dir, name);
      if (typeof fixture === 'string') copyFileSync(join(DATA_DIR, fixture), ovf);
      else writeFileSync(ovf, fixture.text);
      for (const [file, bytes] of Object.entries(extraFiles)) writeFileSync(join(dir, file), bytes);
      Object.assign(state, await planToXml(ovf, opts));
    });
  });
  return state;
}

describe('planned domain: the OVF 1.0 fixture (faithful)', () => {
  const p = planned('vmware-ovf10.ovf');
  itValidates('vmware-ovf10.ovf', () => p.xml);

  it('keeps KiB memory, EFI, the osinfo id, pvscsi, the IDE CD-ROM and vmxnet3', () => {
    const { plan, domain, xml } = p;
    assert.ok(plan.warnings.some((w) => /no file named "[^"]+"/.test(w)), 'descriptorOnly turns missing files into warnings');
    assert.equal(domain.memoryBytes, 2048 * 2 ** 20);
    assert.equal(domain.vcpus, 4);
    assert.deepEqual(domain.topology, { sockets: 2, cores: 2, threads: 1 });
    assert.equal(domain.firmware, 'efi');
    assert.equal(domain.machine, 'pc');
    assert.equal(domain.osinfo, 'http://ubuntu.com/ubuntu/22.04');
    const dom = parseXml(xml, 'tiny.xml');
    assert.equal(only(dom, 'memory').text, '2097152');
    assert.deepEqual(attrs(only(dom, 'os')), { firmware: 'efi' });
    const devices = only(dom, 'devices');
    // Controllers come in the order their first device appears; compare them as a set.
    const byType = (a: Record<string, string>, b: Record<string, string>) => (a['type']! < b['type']! ? -1 : 1);
    assert.deepEqual(children(devices, 'controller').map(attrs).sort(byType), [
      { type: 'ide', index: '0' },
      { type: 'scsi', index: '0', model: 'vmpvscsi' },
    ]);
    const disks = children(devices, 'disk');
    assert.deepEqual(disks.map((d) => [attrs(d)['device'], attrs(only(d, 'target'))]), [
      ['cdrom', { dev: 'hdc', bus: 'ide' }],
      ['disk', { dev: 'sda', bus: 'scsi' }],
    ]);
    assert.deepEqual(attrs(only(disks[1]!, 'source')), { file: '/var/lib/libvirt/images/tiny-vm-vmdisk1.qcow2' });
    assert.deepEqual(attrs(only(disks[1]!, 'address')), { type: 'drive', controller: '0', bus: '0', target: '3', unit: '0' });
    const nic = only(devices, 'interface');
    assert.deepEqual(attrs(only(nic, 'model')), { type: 'vmxnet3' });
    assert.deepEqual(attrs(only(nic, 'mac')), { address: '00:50:56:ab:cd:ef' });
    assert.deepEqual(attrs(only(nic, 'source')), { network: 'default' });
    assert.deepEqual(attrs(only(only(devices, 'video'), 'model')), { type: 'vmvga' });
    const osinfo = only(only(dom, 'metadata'), 'libosinfo');
    assert.equal(osinfo.ns, 'http://libosinfo.org/xmlns/libvirt/domain/1.0');
    assert.equal(attrs(only(osinfo, 'os'))['id'], 'http://ubuntu.com/ubuntu/22.04');
    assert.match(only(dom, 'description').text, /Tiny test appliance & friends/);
  });
});

describe('planned domain: the OVF 1.0 fixture (virtio)', () => {
  const p = planned('vmware-ovf10.ovf', { profile: 'virtio' });
  itValidates('vmware-ovf10.ovf (virtio)', () => p.xml);

  it('moves to q35, virtio disks and NICs, and a virtio balloon', () => {
    assert.equal(p.domain.machine, 'q35');
    assert.deepEqual(p.domain.disks.map((d) => [d.device, d.bus, d.dev]), [
      ['cdrom', 'scsi', 'sda'],
      ['disk', 'virtio', 'vda'],
    ]);
    assert.deepEqual(p.domain.interfaces.map((n) => n.model), ['virtio']);
    assert.deepEqual(attrs(only(only(parseXml(p.xml, 'v.xml'), 'devices'), 'memballoon')), { model: 'virtio' });
  });
});

describe('planned domain: the secure-boot fixture', () => {
  const p = planned('prefixed-no-default-ns.ovf', { networks: { LAN: 'lab' } });
  itValidates('prefixed-no-default-ns.ovf', () => p.xml);

  it('is a q35 domain with SMM and a localtime clock', () => {
    assert.equal(p.domain.machine, 'q35');
    assert.equal(p.domain.secureBoot, true);
    assert.equal(p.domain.clockOffset, 'localtime');
    assert.equal(p.domain.osinfo, 'http://microsoft.com/win/10');
    assert.deepEqual(p.domain.interfaces, [{ type: 'network', source: 'lab', model: 'e1000e' }]);
    assert.deepEqual(attrs(only(only(parseXml(p.xml, 'win.xml'), 'features'), 'smm')), { state: 'on' });
  });
});

describe('planned domain: the OVF 2.0 fixture with its disk present (not descriptor-only)', () => {
  const p = planned('vbox-ovf20.ovf', { descriptorOnly: false, bridges: { NAT: 'br0' } }, { 'box-disk001.vmdk': Buffer.alloc(512) });
  itValidates('vbox-ovf20.ovf', () => p.xml);

  it('reads the disk, bridges the NIC and keeps the pc machine', () => {
    assert.deepEqual(p.plan.warnings.filter((w) => /missing/.test(w)), []);
    const first = p.plan.drives[0]!;
    assert.equal(first.kind === 'file' ? first.format : first.kind, 'vmdk');
    assert.equal(first.capacityBytes, 10 * 2 ** 30);
    assert.equal(p.domain.memoryBytes, 512 * 2 ** 20);
    assert.equal(p.domain.machine, 'pc');
    assert.deepEqual(p.domain.interfaces, [{ type: 'bridge', source: 'br0', model: 'e1000' }]);
    assert.deepEqual(p.domain.disks.map((d) => [d.device, d.bus, d.dev, d.source.type]), [
      ['disk', 'sata', 'sda', 'file'],
      ['cdrom', 'ide', 'hdb', 'none'],
    ]);
  });
});

describe('planned domain: memory that is no whole KiB', () => {
  const p = planned({ name: 'odd.ovf', text: ovfDocument({ systems: [{ id: 'odd', items: cpuAndMemory(1, '1000001', 'byte') }] }) });
  itValidates('odd memory', () => p.xml);

  it('rounds memory up to whole KiB', () => {
    assert.equal(p.domain.memoryBytes, 977 * 1024);
    assert.equal(only(parseXml(p.xml, 'odd.xml'), 'memory').text, '977');
  });
});

describe('planned domain: refusals', () => {
  it('refuses an OVF annotation holding a control character before any XML is written', async () => {
    await withTempDir(async (dir) => {
      const ovf = join(dir, 'bell.ovf');
      const text = ovfDocument({ systems: [{ id: 'bell', items: cpuAndMemory() }] }).replace(
        '    <VirtualHardwareSection>',
        '    <AnnotationSection><Info>a</Info><Annotation>Build &#7; 42</Annotation></AnnotationSection>\n    <VirtualHardwareSection>',
      );
      writeFileSync(ovf, text);
      await assert.rejects(planToXml(ovf), /bell\.ovf: invalid character reference &#7; in Annotation/);
    });
  });

  it('refuses to plan a descriptor whose disk file is missing unless descriptor-only', async () => {
    await withTempDir(async (dir) => {
      const ovf = join(dir, 'box.ovf');
      copyFileSync(join(DATA_DIR, 'vbox-ovf20.ovf'), ovf);
      await assert.rejects(planImport({ source: ovf, profile: 'faithful' }), /no file named "box-disk001\.vmdk"/);
    });
  });
});
