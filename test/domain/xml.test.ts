// domainToXml: hand-built and planned DomainSpecs, checked by structure and by libvirt's own schema (virt-xml-validate).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildDomainSpec } from '../../src/import/build-domain.js';
import { planImport, type ImportPlan, type PlanOptions } from '../../src/import/plan.js';
import { assignTargets, type TargetedDrive } from '../../src/import/targets.js';
import type { DomainSpec } from '../../src/domain/model.js';
import { domainToXml, LIBOSINFO_NS, VIRT_OVF_NS } from '../../src/domain/xml.js';
import { parseEnvelope } from '../../src/ovf/parse.js';
import { parseXml, type XmlElement } from '../../src/ovf/xml.js';
import { CORPUS_DIR, cpuAndMemory, DATA_DIR, ovfDocument, withTempDir } from '../ovf/helpers.js';

/** Runs `virt-xml-validate FILE domain`; resolves with its exit code and output. */
function virtXmlValidate(file: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile('virt-xml-validate', [file, 'domain'], (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, output: `${stdout}${stderr}`.trim() });
    });
  });
}

const validatorPresent = await new Promise<boolean>((resolve) => execFile('virt-xml-validate', ['--help'], (err) => resolve(!err || typeof err.code === 'number')));

/** Writes `xml` to a temporary file and asserts that libvirt's schema accepts it. */
async function assertValidDomain(xml: string, label = 'domain'): Promise<void> {
  await withTempDir(async (dir) => {
    const file = join(dir, 'domain.xml');
    writeFileSync(file, xml);
    const { code, output } = await virtXmlValidate(file);
    assert.equal(code, 0, `${label}: virt-xml-validate exit ${code}: ${output}\n${xml}`);
  });
}

function children(el: XmlElement, local: string): XmlElement[] {
  return el.children.filter((c) => c.local === local);
}

function only(el: XmlElement, local: string): XmlElement {
  const found = children(el, local);
  assert.equal(found.length, 1, `exactly one <${local}> in <${el.local}>`);
  return found[0]!;
}

const attrs = (el: XmlElement): Record<string, string> => Object.fromEntries(el.attrs);

/** A spec using nearly every feature the writer knows. */
function fullSpec(): DomainSpec {
  return {
    type: 'kvm',
    name: 'full-vm',
    uuid: '2f0c6b3e-7a51-4a49-9d1e-3b5f6f0c9a11',
    title: 'Full test VM',
    description: 'Imported & checked <by> tests',
    memoryKiB: 4 * 1024 * 1024,
    vcpus: 4,
    topology: { sockets: 2, cores: 2, threads: 1 },
    arch: 'x86_64',
    machine: 'q35',
    firmware: 'efi',
    secureBoot: true,
    osinfo: 'http://ubuntu.com/ubuntu/22.04',
    clockOffset: 'utc',
    controllers: [
      { type: 'scsi', index: 0, model: 'vmpvscsi' },
      { type: 'sata', index: 0 },
      { type: 'usb', index: 0, model: 'qemu-xhci' },
    ],
    disks: [
      { device: 'disk', bus: 'scsi', dev: 'sda', format: 'qcow2', source: { type: 'volume', pool: 'default', volume: 'full-vm-vmdisk1.qcow2' }, address: { controller: 0, bus: 0, target: 3, unit: 0 }, bootOrder: 1 },
      { device: 'disk', bus: 'virtio', dev: 'vda', format: 'raw', source: { type: 'file', path: '/var/lib/libvirt/images/full-vm-data.img' }, bootOrder: 2 },
      { device: 'cdrom', bus: 'sata', dev: 'sdb', format: 'raw', source: { type: 'file', path: '/var/lib/libvirt/images/tools.iso' }, address: { controller: 0, bus: 0, target: 0, unit: 1 }, bootOrder: 3 },
      { device: 'cdrom', bus: 'sata', dev: 'sdc', format: 'raw', source: { type: 'none' }, address: { controller: 0, bus: 0, target: 0, unit: 2 } },
    ],
    interfaces: [
      { source: { type: 'network', network: 'default' }, model: 'vmxnet3', mac: '00:50:56:ab:cd:ef' },
      { source: { type: 'bridge', bridge: 'br0' }, model: 'virtio' },
    ],
    video: { model: 'vga' },
    sounds: [{ model: 'ich9' }],
    tpm: { model: 'tpm-crb', version: '2.0' },
    serialConsole: true,
    serialLog: '/var/log/libvirt/qemu/full-vm-serial.log',
    graphics: { type: 'vnc', listen: '127.0.0.1' },
  };
}

function minimalSpec(): DomainSpec {
  return {
    type: 'qemu',
    name: 'tiny',
    uuid: 'c3a1e8a2-0d3b-4b8e-9a55-5f0e2a1d7c44',
    memoryKiB: 262144,
    vcpus: 1,
    arch: 'x86_64',
    machine: 'pc',
    firmware: 'bios',
    secureBoot: false,
    clockOffset: 'localtime',
    controllers: [],
    disks: [],
    interfaces: [],
    sounds: [],
    serialConsole: false,
  };
}

describe('domainToXml: a hand-built DomainSpec', () => {
  const xml = domainToXml(fullSpec(), { source: '/srv/appliances/full.ova', virtualSystem: 'full', profile: 'faithful' });
  const dom = parseXml(xml, 'domain.xml');

  it('is accepted by virt-xml-validate', { skip: validatorPresent ? false : 'virt-xml-validate not installed' }, async () => {
    await assertValidDomain(xml, 'full spec');
  });

  it('writes the name, uuid, title and an escaped description', () => {
    assert.equal(dom.local, 'domain');
    assert.deepEqual(attrs(dom), { type: 'kvm' });
    assert.equal(only(dom, 'name').text, 'full-vm');
    assert.equal(only(dom, 'uuid').text, '2f0c6b3e-7a51-4a49-9d1e-3b5f6f0c9a11');
    assert.equal(only(dom, 'title').text, 'Full test VM');
    assert.equal(only(dom, 'description').text, 'Imported & checked <by> tests');
  });

  it('writes memory and currentMemory in KiB', () => {
    for (const name of ['memory', 'currentMemory']) {
      const el = only(dom, name);
      assert.deepEqual(attrs(el), { unit: 'KiB' });
      assert.equal(el.text, '4194304');
    }
    assert.equal(only(dom, 'vcpu').text, '4');
    assert.deepEqual(attrs(only(only(dom, 'cpu'), 'topology')), { sockets: '2', dies: '1', cores: '2', threads: '1' });
  });

  it('records the libosinfo id and the import provenance in their namespaces', () => {
    const md = only(dom, 'metadata');
    const osinfo = md.children.find((c) => c.local === 'libosinfo');
    assert.ok(osinfo, 'a libosinfo:libosinfo element');
    assert.equal(osinfo.ns, LIBOSINFO_NS);
    assert.equal(LIBOSINFO_NS, 'http://libosinfo.org/xmlns/libvirt/domain/1.0');
    const os = only(osinfo, 'os');
    assert.equal(os.ns, LIBOSINFO_NS);
    assert.deepEqual(attrs(os), { id: 'http://ubuntu.com/ubuntu/22.04' });
    const imp = md.children.find((c) => c.local === 'import');
    assert.ok(imp);
    assert.equal(imp.ns, VIRT_OVF_NS);
    assert.deepEqual(attrs(imp), { source: '/srv/appliances/full.ova', 'virtual-system': 'full', profile: 'faithful' });
  });

  it('asks for EFI firmware with secure boot and enrolled keys, and turns SMM on', () => {
    const os = only(dom, 'os');
    assert.deepEqual(attrs(os), { firmware: 'efi' });
    assert.deepEqual(attrs(only(os, 'type')), { arch: 'x86_64', machine: 'q35' });
    assert.equal(only(os, 'type').text, 'hvm');
    const features = children(only(os, 'firmware'), 'feature').map(attrs);
    assert.deepEqual(features, [
      { enabled: 'yes', name: 'secure-boot' },
      { enabled: 'yes', name: 'enrolled-keys' },
    ]);
    assert.deepEqual(attrs(only(only(dom, 'features'), 'smm')), { state: 'on' });
  });

  it('writes controllers, disks with drivers, sources, targets, boot order and drive addresses', () => {
    const devices = only(dom, 'devices');
    assert.deepEqual(children(devices, 'controller').map(attrs), [
      { type: 'scsi', index: '0', model: 'vmpvscsi' },
      { type: 'sata', index: '0' },
      { type: 'usb', index: '0', model: 'qemu-xhci' },
    ]);
    const disks = children(devices, 'disk');
    assert.deepEqual(disks.map(attrs), [
      { type: 'volume', device: 'disk' },
      { type: 'file', device: 'disk' },
      { type: 'file', device: 'cdrom' },
      { type: 'file', device: 'cdrom' },
    ]);
    const [scsi, virtio, iso, empty] = disks as [XmlElement, XmlElement, XmlElement, XmlElement];
    assert.deepEqual(attrs(only(scsi, 'driver')), { name: 'qemu', type: 'qcow2' });
    assert.deepEqual(attrs(only(scsi, 'source')), { pool: 'default', volume: 'full-vm-vmdisk1.qcow2' });
    assert.deepEqual(attrs(only(scsi, 'target')), { dev: 'sda', bus: 'scsi' });
    assert.deepEqual(attrs(only(scsi, 'boot')), { order: '1' });
    assert.deepEqual(attrs(only(scsi, 'address')), { type: 'drive', controller: '0', bus: '0', target: '3', unit: '0' });
    assert.deepEqual(children(scsi, 'readonly'), []);
    assert.deepEqual(attrs(only(virtio, 'source')), { file: '/var/lib/libvirt/images/full-vm-data.img' });
    assert.deepEqual(children(virtio, 'address'), []);
    assert.equal(children(iso, 'readonly').length, 1, 'CD-ROMs are read-only');
    assert.deepEqual(attrs(only(iso, 'driver')), { name: 'qemu', type: 'raw' });
    assert.deepEqual(children(empty, 'source'), [], 'an empty CD-ROM has no source');
    assert.deepEqual(children(empty, 'boot'), []);
  });

  it('writes interfaces with source, MAC and model', () => {
    const nics = children(only(dom, 'devices'), 'interface');
    assert.deepEqual(nics.map(attrs), [{ type: 'network' }, { type: 'bridge' }]);
    assert.deepEqual(attrs(only(nics[0]!, 'source')), { network: 'default' });
    assert.deepEqual(attrs(only(nics[0]!, 'mac')), { address: '00:50:56:ab:cd:ef' });
    assert.deepEqual(attrs(only(nics[0]!, 'model')), { type: 'vmxnet3' });
    assert.deepEqual(attrs(only(nics[1]!, 'source')), { bridge: 'br0' });
    assert.deepEqual(children(nics[1]!, 'mac'), []);
  });

  it('writes the serial console with its log, VNC graphics, video, sound, the TPM and a virtio balloon', () => {
    const devices = only(dom, 'devices');
    const serial = only(devices, 'serial');
    assert.deepEqual(attrs(only(serial, 'log')), { file: '/var/log/libvirt/qemu/full-vm-serial.log', append: 'off' });
    assert.deepEqual(attrs(only(only(devices, 'console'), 'target')), { type: 'serial', port: '0' });
    assert.equal(attrs(only(devices, 'graphics'))['type'], 'vnc');
    assert.deepEqual(attrs(only(only(devices, 'graphics'), 'listen')), { type: 'address', address: '127.0.0.1' });
    assert.deepEqual(attrs(only(only(devices, 'video'), 'model')), { type: 'vga' });
    assert.deepEqual(attrs(only(devices, 'sound')), { model: 'ich9' });
    assert.deepEqual(attrs(only(devices, 'tpm')), { model: 'tpm-crb' });
    assert.deepEqual(attrs(only(only(devices, 'tpm'), 'backend')), { type: 'emulator', version: '2.0' });
    assert.deepEqual(attrs(only(devices, 'memballoon')), { model: 'virtio' });
  });
});

describe('domainToXml: a minimal BIOS DomainSpec', () => {
  const xml = domainToXml(minimalSpec());
  const dom = parseXml(xml, 'domain.xml');

  it('is accepted by virt-xml-validate', { skip: validatorPresent ? false : 'virt-xml-validate not installed' }, async () => {
    await assertValidDomain(xml, 'minimal spec');
  });

  it('writes no metadata, no firmware attribute, localtime clock and no balloon', () => {
    assert.deepEqual(children(dom, 'metadata'), []);
    assert.deepEqual(attrs(only(dom, 'os')), {});
    assert.deepEqual(children(only(dom, 'os'), 'firmware'), []);
    assert.deepEqual(attrs(only(dom, 'clock')), { offset: 'localtime' });
    assert.deepEqual(children(only(dom, 'features'), 'smm'), []);
    assert.deepEqual(attrs(only(only(dom, 'devices'), 'memballoon')), { model: 'none' });
    assert.deepEqual(children(only(dom, 'devices'), 'serial'), []);
  });

  it('writes EFI without secure boot as a disabled secure-boot feature, and the result validates', { skip: validatorPresent ? false : 'virt-xml-validate not installed' }, async () => {
    const efi = domainToXml({ ...minimalSpec(), firmware: 'efi', machine: 'q35' });
    const os = only(parseXml(efi, 'efi.xml'), 'os');
    assert.deepEqual(attrs(os), { firmware: 'efi' });
    assert.deepEqual(children(only(os, 'firmware'), 'feature').map(attrs), [{ enabled: 'no', name: 'secure-boot' }]);
    await assertValidDomain(efi, 'efi without secure boot');
  });

  it('is refused by virt-xml-validate when a controller model is bogus (the check is real)', { skip: validatorPresent ? false : 'virt-xml-validate not installed' }, async () => {
    const bad = domainToXml({ ...minimalSpec(), controllers: [{ type: 'scsi', index: 0, model: 'no-such-hba' }] });
    await withTempDir(async (dir) => {
      writeFileSync(join(dir, 'bad.xml'), bad);
      assert.notEqual((await virtXmlValidate(join(dir, 'bad.xml'))).code, 0);
    });
  });
});

/** File targets for every drive of `plan`, as an import into `dir` would create them. */
function fileSources(plan: ImportPlan, dir: string, format: 'qcow2' | 'raw' = 'qcow2'): TargetedDrive[] {
  return assignTargets(plan.drives, { kind: 'dir', dir }, format, plan.mappings.system);
}

/** Plans `ovfPath`, builds the domain with file sources and returns the spec and XML. */
async function planToXml(ovfPath: string, opts: Partial<PlanOptions> = {}): Promise<{ plan: ImportPlan; spec: DomainSpec; xml: string }> {
  const plan = await planImport({ source: ovfPath, profile: 'faithful', descriptorOnly: true, ...opts });
  const spec = buildDomainSpec(plan, fileSources(plan, '/var/lib/libvirt/images'), { type: 'kvm', uuid: randomUUID() });
  return { plan, spec, xml: domainToXml(spec, { source: ovfPath, virtualSystem: plan.virtualSystem.id, profile: opts.profile ?? 'faithful' }) };
}

describe('domainToXml: DomainSpecs built by planImport and buildDomainSpec', () => {
  const skip = validatorPresent ? false : 'virt-xml-validate not installed';

  it('turns the OVF 1.0 fixture into a valid domain: KiB memory, EFI, osinfo, pvscsi, IDE CD-ROM, vmxnet3', { skip }, async () => {
    await withTempDir(async (dir) => {
      const ovf = join(dir, 'tiny.ovf');
      copyFileSync(join(DATA_DIR, 'vmware-ovf10.ovf'), ovf);
      const { plan, spec, xml } = await planToXml(ovf);
      assert.ok(plan.warnings.some((w) => /no file named "[^"]+"/.test(w)), 'descriptorOnly turns missing files into warnings');
      assert.equal(spec.memoryKiB, 2048 * 1024);
      assert.equal(spec.vcpus, 4);
      assert.deepEqual(spec.topology, { sockets: 2, cores: 2, threads: 1 });
      assert.equal(spec.firmware, 'efi');
      assert.equal(spec.machine, 'pc');
      assert.equal(spec.osinfo, 'http://ubuntu.com/ubuntu/22.04');
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
      await assertValidDomain(xml, 'vmware-ovf10.ovf');
    });
  });

  it('turns the same fixture into a valid virtio domain', { skip }, async () => {
    await withTempDir(async (dir) => {
      const ovf = join(dir, 'tiny.ovf');
      copyFileSync(join(DATA_DIR, 'vmware-ovf10.ovf'), ovf);
      const { spec, xml } = await planToXml(ovf, { profile: 'virtio' });
      assert.equal(spec.machine, 'q35');
      assert.deepEqual(spec.disks.map((d) => [d.device, d.bus, d.dev]), [
        ['cdrom', 'scsi', 'sda'],
        ['disk', 'virtio', 'vda'],
      ]);
      assert.deepEqual(spec.interfaces.map((n) => n.model), ['virtio']);
      assert.deepEqual(attrs(only(only(parseXml(xml, 'v.xml'), 'devices'), 'memballoon')), { model: 'virtio' });
      await assertValidDomain(xml, 'vmware-ovf10.ovf (virtio)');
    });
  });

  it('turns the secure-boot fixture into a valid q35 domain with SMM and a localtime clock', { skip }, async () => {
    await withTempDir(async (dir) => {
      const ovf = join(dir, 'win.ovf');
      copyFileSync(join(DATA_DIR, 'prefixed-no-default-ns.ovf'), ovf);
      const { spec, xml } = await planToXml(ovf, { networks: { LAN: 'lab' } });
      assert.equal(spec.machine, 'q35');
      assert.equal(spec.secureBoot, true);
      assert.equal(spec.clockOffset, 'localtime');
      assert.equal(spec.osinfo, 'http://microsoft.com/win/10');
      assert.deepEqual(spec.interfaces, [{ source: { type: 'network', network: 'lab' }, model: 'e1000e' }]);
      const dom = parseXml(xml, 'win.xml');
      assert.deepEqual(attrs(only(only(dom, 'features'), 'smm')), { state: 'on' });
      await assertValidDomain(xml, 'prefixed-no-default-ns.ovf');
    });
  });

  it('plans the OVF 2.0 fixture with its disk present (not descriptor-only) into a valid domain', { skip }, async () => {
    await withTempDir(async (dir) => {
      const ovf = join(dir, 'box.ovf');
      copyFileSync(join(DATA_DIR, 'vbox-ovf20.ovf'), ovf);
      writeFileSync(join(dir, 'box-disk001.vmdk'), Buffer.alloc(512));
      const { plan, spec, xml } = await planToXml(ovf, { descriptorOnly: false, bridges: { NAT: 'br0' } });
      assert.deepEqual(plan.warnings.filter((w) => /missing/.test(w)), []);
      const first = plan.drives[0]!;
      assert.equal(first.kind === 'file' ? first.format : first.kind, 'vmdk');
      assert.equal(first.capacityBytes, 10 * 2 ** 30);
      assert.equal(spec.memoryKiB, 512 * 1024);
      assert.equal(spec.machine, 'pc');
      assert.deepEqual(spec.interfaces, [{ source: { type: 'bridge', bridge: 'br0' }, model: 'e1000' }]);
      assert.deepEqual(spec.disks.map((d) => [d.device, d.bus, d.dev, d.source.type]), [
        ['disk', 'sata', 'sda', 'file'],
        ['cdrom', 'ide', 'hdb', 'none'],
      ]);
      await assertValidDomain(xml, 'vbox-ovf20.ovf');
    });
  });

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

  it('replaces characters XML forbids in a hand-built DomainSpec instead of writing them raw', { skip }, async () => {
    const xml = domainToXml({ ...minimalSpec(), description: 'bell \u0007 here' });
    assert.ok(!xml.includes('\u0007'));
    await assertValidDomain(xml, 'description with a control character');
  });

  it('refuses to plan a descriptor whose disk file is missing unless descriptor-only', async () => {
    await withTempDir(async (dir) => {
      const ovf = join(dir, 'box.ovf');
      copyFileSync(join(DATA_DIR, 'vbox-ovf20.ovf'), ovf);
      await assert.rejects(planImport({ source: ovf, profile: 'faithful' }), /no file named "box-disk001\.vmdk"/);
    });
  });

  it('rounds memory up to whole KiB', { skip }, async () => {
    await withTempDir(async (dir) => {
      const ovf = join(dir, 'odd.ovf');
      writeFileSync(ovf, ovfDocument({ systems: [{ id: 'odd', items: cpuAndMemory(1, '1000001', 'byte') }] }));
      const { spec, xml } = await planToXml(ovf);
      assert.equal(spec.memoryKiB, 977);
      assert.equal(only(parseXml(xml, 'odd.xml'), 'memory').text, '977');
      await assertValidDomain(xml, 'odd memory');
    });
  });
});

describe('domainToXml: every corpus descriptor that plans', () => {
  it('produces domain XML that virt-xml-validate accepts, for both profiles and every VirtualSystem', async (t) => {
    if (!existsSync(CORPUS_DIR)) {
      t.skip('corpus not present');
      return;
    }
    if (!validatorPresent) {
      t.skip('virt-xml-validate not installed');
      return;
    }
    const files = readdirSync(CORPUS_DIR).filter((f) => f.endsWith('.ovf')).sort();
    let validated = 0;
    let skipped = 0;
    const failures: string[] = [];
    const validatedFiles = new Set<string>();
    for (const name of files) {
      const path = join(CORPUS_DIR, name);
      let systems: string[];
      try {
        systems = parseEnvelope(readFileSync(path), name).virtualSystems.map((v) => v.id);
      } catch {
        skipped += 2;
        continue;
      }
      for (const profile of ['faithful', 'virtio']) {
        for (const vm of systems.length > 0 ? systems : [undefined]) {
          let xml: string;
          try {
            xml = (await planToXml(path, { profile, ...(vm !== undefined ? { vm } : {}) })).xml;
          } catch {
            skipped += 1;
            continue;
          }
          await withTempDir(async (dir) => {
            const file = join(dir, 'domain.xml');
            writeFileSync(file, xml);
            const { code, output } = await virtXmlValidate(file);
            if (code === 0) {
              validated += 1;
              validatedFiles.add(name);
            } else failures.push(`${name} (${profile}${vm !== undefined ? `, ${vm}` : ''}): exit ${code}: ${output.split('\n').slice(0, 3).join(' | ')}`);
          });
        }
      }
    }
    t.diagnostic(`${validated} domain XMLs from ${validatedFiles.size} of ${files.length} corpus descriptors validate; ${skipped} descriptor/profile combinations did not plan and were skipped`);
    assert.deepEqual(failures, []);
    assert.ok(validated > 0);
  });
});
