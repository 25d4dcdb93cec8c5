// domainToXml: hand-built domains, checked by structure (always) and by libvirt's own schema (virt-xml-validate, when installed).

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LIBOSINFO_NS, VIRT_OVF_NS } from '../../src/domain/metadata.js';
import { domainToXml } from '../../src/domain/xml.js';
import { parseXml, type XmlElement } from '../../src/xml/parse.js';
import { withTempDir } from '../ovf/helpers.js';
import { attrs, children, fullDomain, itValidates, minimalDomain, only, rules, validatorSkip, virtXmlValidate } from './helpers.js';

describe('domainToXml: a hand-built domain', () => {
  const xml = domainToXml(fullDomain(), rules, { source: '/srv/appliances/full.ova', virtualSystem: 'full', profile: 'faithful' });
  const dom = parseXml(xml, 'domain.xml');

  itValidates('the full domain', () => xml);

  it('writes the name, uuid, title and an escaped description', () => {
    assert.equal(dom.local, 'domain');
    assert.deepEqual(attrs(dom), { type: 'kvm' });
    assert.equal(only(dom, 'name').text, 'full-vm');
    assert.equal(only(dom, 'uuid').text, '2f0c6b3e-7a51-4a49-9d1e-3b5f6f0c9a11');
    assert.equal(only(dom, 'title').text, 'Full test VM');
    assert.equal(only(dom, 'description').text, 'Imported & checked <by> tests');
  });

  it('writes memory and currentMemory in KiB, the vCPUs and the topology with one die', () => {
    for (const name of ['memory', 'currentMemory']) {
      const el = only(dom, name);
      assert.deepEqual(attrs(el), { unit: 'KiB' });
      assert.equal(el.text, '4194304');
    }
    assert.deepEqual(attrs(only(dom, 'vcpu')), { placement: 'static' });
    assert.equal(only(dom, 'vcpu').text, '4');
    assert.deepEqual(attrs(only(dom, 'cpu')), { mode: 'host-passthrough' });
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

  it('asks for EFI firmware with secure boot and enrolled keys, turns ACPI, APIC and SMM on, and sets the lifecycle actions', () => {
    const os = only(dom, 'os');
    assert.deepEqual(attrs(os), { firmware: 'efi' });
    assert.deepEqual(attrs(only(os, 'type')), { arch: 'x86_64', machine: 'q35' });
    assert.equal(only(os, 'type').text, 'hvm');
    assert.deepEqual(children(only(os, 'firmware'), 'feature').map(attrs), [
      { enabled: 'yes', name: 'secure-boot' },
      { enabled: 'yes', name: 'enrolled-keys' },
    ]);
    assert.deepEqual(only(dom, 'features').children.map((f) => [f.local, attrs(f)]), [['acpi', {}], ['apic', {}], ['smm', { state: 'on' }]]);
    assert.deepEqual(attrs(only(dom, 'clock')), { offset: 'utc' });
    assert.deepEqual(['on_poweroff', 'on_reboot', 'on_crash'].map((n) => only(dom, n).text), ['destroy', 'restart', 'destroy']);
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
    assert.deepEqual(attrs(only(devices, 'graphics')), { type: 'vnc', port: '-1', autoport: 'yes', listen: '127.0.0.1' });
    assert.deepEqual(attrs(only(only(devices, 'graphics'), 'listen')), { type: 'address', address: '127.0.0.1' });
    assert.deepEqual(attrs(only(only(devices, 'video'), 'model')), { type: 'vga' });
    assert.deepEqual(attrs(only(devices, 'sound')), { model: 'ich9' });
    assert.deepEqual(attrs(only(devices, 'tpm')), { model: 'tpm-crb' });
    assert.deepEqual(attrs(only(only(devices, 'tpm'), 'backend')), { type: 'emulator', version: '2.0' });
    assert.deepEqual(attrs(only(devices, 'memballoon')), { model: 'virtio' });
  });
});

describe('domainToXml: a minimal BIOS domain', () => {
  const xml = domainToXml(minimalDomain(), rules);
  const dom = parseXml(xml, 'domain.xml');
  const efi = domainToXml({ ...minimalDomain(), firmware: 'efi', machine: 'q35' }, rules);
  const bell = domainToXml({ ...minimalDomain(), description: 'bell \u0007 here' }, rules);

  itValidates('the minimal domain', () => xml);
  itValidates('EFI without secure boot', () => efi);
  itValidates('a description with a control character', () => bell);

  it('writes no metadata, no firmware attribute, no CPU mode for qemu, localtime clock and no balloon', () => {
    assert.deepEqual(children(dom, 'metadata'), []);
    assert.deepEqual(attrs(only(dom, 'os')), {});
    assert.deepEqual(children(only(dom, 'os'), 'firmware'), []);
    assert.deepEqual(attrs(only(dom, 'cpu')), {});
    assert.deepEqual(attrs(only(dom, 'clock')), { offset: 'localtime' });
    assert.deepEqual(only(dom, 'features').children.map((f) => f.local), ['acpi', 'apic']);
    assert.deepEqual(attrs(only(only(dom, 'devices'), 'memballoon')), { model: 'none' });
    assert.deepEqual(children(only(dom, 'devices'), 'serial'), []);
  });

  it('writes EFI without secure boot as a disabled secure-boot feature', () => {
    const os = only(parseXml(efi, 'efi.xml'), 'os');
    assert.deepEqual(attrs(os), { firmware: 'efi' });
    assert.deepEqual(children(only(os, 'firmware'), 'feature').map(attrs), [{ enabled: 'no', name: 'secure-boot' }]);
  });

  it('replaces characters XML forbids instead of writing them raw', () => {
    assert.ok(!bell.includes('\u0007'));
    assert.equal(only(parseXml(bell, 'bell.xml'), 'description').text, 'bell \uFFFD here');
  });

  it('is refused by virt-xml-validate when a controller model is bogus (the check is real)', { skip: validatorSkip }, async () => {
    const bad = domainToXml({ ...minimalDomain(), controllers: [{ type: 'scsi', index: 0, model: 'no-such-hba' }] }, rules);
    await withTempDir(async (dir) => {
      writeFileSync(join(dir, 'bad.xml'), bad);
      assert.notEqual((await virtXmlValidate(join(dir, 'bad.xml'))).code, 0);
    });
  });
});

describe('domainToXml: the rules come from domain.json', () => {
  it('takes features, CPU mode, lifecycle actions and the balloon from the rules it is given', () => {
    const custom = {
      ...rules,
      defaults: { ...rules.defaults, features: ['acpi'], cpuModeByDomainType: { qemu: 'maximum' }, lifecycle: { onPoweroff: 'destroy', onReboot: 'destroy', onCrash: 'preserve' }, memballoon: { ...rules.defaults.memballoon, otherwise: 'virtio' } },
    };
    const dom = parseXml(domainToXml(minimalDomain(), custom), 'custom.xml');
    assert.deepEqual(only(dom, 'features').children.map((f) => f.local), ['acpi']);
    assert.deepEqual(attrs(only(dom, 'cpu')), { mode: 'maximum' });
    assert.deepEqual(['on_poweroff', 'on_reboot', 'on_crash'].map((n) => only(dom, n).text), ['destroy', 'destroy', 'preserve']);
    assert.deepEqual(attrs(only(only(dom, 'devices'), 'memballoon')), { model: 'virtio' });
  });

  it('keeps what the domain sets over the rules', () => {
    const dom = parseXml(domainToXml({ ...minimalDomain(), features: [{ name: 'pae' }], cpuMode: 'host-model', memballoon: 'virtio', onCrash: 'coredump-restart' }, rules), 'set.xml');
    assert.deepEqual(only(dom, 'features').children.map((f) => f.local), ['pae']);
    assert.deepEqual(attrs(only(dom, 'cpu')), { mode: 'host-model' });
    assert.equal(only(dom, 'on_crash').text, 'coredump-restart');
    assert.deepEqual(attrs(only(only(dom, 'devices'), 'memballoon')), { model: 'virtio' });
  });
});
