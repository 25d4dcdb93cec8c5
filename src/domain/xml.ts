// DomainSpec to libvirt domain XML (https://libvirt.org/formatdomain.html), written with xmlbuilder2.
import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import type { DiskSpec, DomainSpec } from './model.js';

/** libosinfo metadata namespace, as virt-install writes it. */
export const LIBOSINFO_NS = 'http://libosinfo.org/xmlns/libvirt/domain/1.0';
/** virt-ovf's own metadata namespace (source package, profile). */
export const VIRT_OVF_NS = 'https://virt-ovf.org/xmlns/domain/1.0';

/** Provenance recorded in <metadata><virt-ovf:import>. */
export interface ImportMetadata {
  readonly source: string;
  readonly virtualSystem: string;
  readonly profile: string;
}

/** Replaces characters XML 1.0 cannot carry (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/FFFF) with U+FFFD. */
export function xmlSafe(text: string): string {
  return text.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

function writeDisk(devices: XMLBuilder, disk: DiskSpec): void {
  const type = disk.source.type === 'volume' ? 'volume' : 'file';
  const el = devices.ele('disk', { type, device: disk.device });
  el.ele('driver', { name: 'qemu', type: disk.format });
  if (disk.source.type === 'volume') el.ele('source', { pool: disk.source.pool, volume: disk.source.volume });
  else if (disk.source.type === 'file') el.ele('source', { file: disk.source.path });
  el.ele('target', { dev: disk.dev, bus: disk.bus });
  if (disk.bootOrder !== undefined) el.ele('boot', { order: disk.bootOrder });
  if (disk.readonly || disk.device === 'cdrom') el.ele('readonly');
  if (disk.address) {
    const a = disk.address;
    el.ele('address', { type: 'drive', controller: a.controller, bus: a.bus, target: a.target, unit: a.unit });
  }
}

/**
 * Writes the domain XML.
 * Memory is written in KiB; firmware uses libvirt's automatic selection
 * (`<os firmware='efi'>`, with `<feature enabled='yes' name='secure-boot'/>` when asked).
 */
export function domainToXml(spec: DomainSpec, meta?: ImportMetadata): string {
  const doc = create({ version: '1.0' });
  const dom = doc.ele('domain', { type: spec.type });
  dom.ele('name').txt(spec.name);
  dom.ele('uuid').txt(spec.uuid);
  if (spec.title) dom.ele('title').txt(xmlSafe(spec.title));
  if (spec.description) dom.ele('description').txt(xmlSafe(spec.description));
  if (spec.osinfo || meta) {
    const md = dom.ele('metadata');
    if (spec.osinfo) md.ele(LIBOSINFO_NS, 'libosinfo:libosinfo').ele(LIBOSINFO_NS, 'libosinfo:os', { id: spec.osinfo });
    if (meta) {
      md.ele(VIRT_OVF_NS, 'virt-ovf:import', { source: meta.source, 'virtual-system': meta.virtualSystem, profile: meta.profile });
    }
  }
  dom.ele('memory', { unit: 'KiB' }).txt(String(spec.memoryKiB));
  dom.ele('currentMemory', { unit: 'KiB' }).txt(String(spec.memoryKiB));
  dom.ele('vcpu', { placement: 'static' }).txt(String(spec.vcpus));
  const os = dom.ele('os', spec.firmware === 'efi' ? { firmware: 'efi' } : {});
  os.ele('type', { arch: spec.arch, machine: spec.machine }).txt('hvm');
  if (spec.firmware === 'efi') {
    const fw = os.ele('firmware');
    fw.ele('feature', { enabled: spec.secureBoot ? 'yes' : 'no', name: 'secure-boot' });
    if (spec.secureBoot) fw.ele('feature', { enabled: 'yes', name: 'enrolled-keys' });
  }
  const features = dom.ele('features');
  features.ele('acpi');
  features.ele('apic');
  if (spec.secureBoot) features.ele('smm', { state: 'on' });
  const cpu = dom.ele('cpu', spec.type === 'kvm' ? { mode: 'host-passthrough' } : {});
  if (spec.topology) cpu.ele('topology', { sockets: spec.topology.sockets, dies: 1, cores: spec.topology.cores, threads: spec.topology.threads });
  dom.ele('clock', { offset: spec.clockOffset });
  dom.ele('on_poweroff').txt('destroy');
  dom.ele('on_reboot').txt('restart');
  dom.ele('on_crash').txt('destroy');
  const devices = dom.ele('devices');
  for (const c of spec.controllers) devices.ele('controller', { type: c.type, index: c.index, ...(c.model ? { model: c.model } : {}) });
  for (const d of spec.disks) writeDisk(devices, d);
  for (const nic of spec.interfaces) {
    const el = devices.ele('interface', { type: nic.source.type });
    if (nic.mac) el.ele('mac', { address: nic.mac });
    if (nic.source.type === 'network') el.ele('source', { network: nic.source.network });
    else if (nic.source.type === 'bridge') el.ele('source', { bridge: nic.source.bridge });
    el.ele('model', { type: nic.model });
  }
  if (spec.serialConsole) {
    const serial = devices.ele('serial', { type: 'pty' });
    if (spec.serialLog) serial.ele('log', { file: spec.serialLog, append: 'off' });
    serial.ele('target', { port: 0 });
    devices.ele('console', { type: 'pty' }).ele('target', { type: 'serial', port: 0 });
  }
  if (spec.graphics) {
    devices.ele('graphics', { type: spec.graphics.type, port: -1, autoport: 'yes', listen: spec.graphics.listen }).ele('listen', { type: 'address', address: spec.graphics.listen });
  }
  if (spec.video) devices.ele('video').ele('model', { type: spec.video.model });
  for (const s of spec.sounds) devices.ele('sound', { model: s.model });
  if (spec.tpm) devices.ele('tpm', { model: spec.tpm.model }).ele('backend', { type: 'emulator', version: spec.tpm.version });
  devices.ele('memballoon', { model: spec.interfaces.some((n) => n.model === 'virtio') || spec.disks.some((d) => d.bus === 'virtio') ? 'virtio' : 'none' });
  return doc.end({ prettyPrint: true, headless: true }) + '\n';
}
