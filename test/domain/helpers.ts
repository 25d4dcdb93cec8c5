// Shared helpers for the domain tests: virt-xml-validate, structural accessors, hand-built domains, planned domains.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { buildDomainSpec } from '../../src/import/build-domain.js';
import { planImport, type ImportPlan, type PlanOptions } from '../../src/import/plan.js';
import { assignTargets, type TargetedDrive } from '../../src/import/targets.js';
import type { DomainDescription } from '../../src/domain/model.js';
import { domainToXml } from '../../src/domain/xml.js';
import { loadMappings } from '../../src/mapping/load.js';
import type { XmlElement } from '../../src/xml/parse.js';
import { withTempDir } from '../ovf/helpers.js';

/** The built-in domain.json rules. */
export const rules = loadMappings().domain;

/** Runs `virt-xml-validate FILE domain`; resolves with its exit code and output. */
export function virtXmlValidate(file: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile('virt-xml-validate', [file, 'domain'], (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, output: `${stdout}${stderr}`.trim() });
    });
  });
}

const validatorPresent = await new Promise<boolean>((resolve) => execFile('virt-xml-validate', ['--help'], (err) => resolve(!err || typeof err.code === 'number')));

/** The skip reason for tests that need libvirt's schema validator, or false when it is installed. */
export const validatorSkip: string | false = validatorPresent ? false : 'virt-xml-validate (libvirt-clients) is not installed: only the schema check is skipped';

/** Writes `xml` to a temporary file and asserts that libvirt's schema accepts it. */
export async function assertValidDomain(xml: string, label = 'domain'): Promise<void> {
  await withTempDir(async (dir) => {
    const file = join(dir, 'domain.xml');
    writeFileSync(file, xml);
    const { code, output } = await virtXmlValidate(file);
    assert.equal(code, 0, `${label}: virt-xml-validate exit ${code}: ${output}\n${xml}`);
  });
}

/** A test that `xml()` passes libvirt's schema; skipped, saying why, when virt-xml-validate is missing. */
export function itValidates(label: string, xml: () => string | Promise<string>): void {
  it(`${label}: virt-xml-validate accepts it`, { skip: validatorSkip }, async () => assertValidDomain(await xml(), label));
}

export function children(el: XmlElement, local: string): XmlElement[] {
  return el.children.filter((c) => c.local === local);
}

export function only(el: XmlElement, local: string): XmlElement {
  const found = children(el, local);
  assert.equal(found.length, 1, `exactly one <${local}> in <${el.local}>`);
  return found[0]!;
}

export const attrs = (el: XmlElement): Record<string, string> => Object.fromEntries(el.attrs);

/** A domain using nearly every feature the writer knows. */
export function fullDomain(): DomainDescription {
  return {
    type: 'kvm',
    name: 'full-vm',
    uuid: '2f0c6b3e-7a51-4a49-9d1e-3b5f6f0c9a11',
    title: 'Full test VM',
    description: 'Imported & checked <by> tests',
    memoryBytes: 4 * 2 ** 30,
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
      { device: 'disk', bus: 'scsi', dev: 'sda', driverType: 'qcow2', source: { type: 'volume', pool: 'default', volume: 'full-vm-vmdisk1.qcow2' }, address: { controller: 0, bus: 0, target: 3, unit: 0 }, bootOrder: 1 },
      { device: 'disk', bus: 'virtio', dev: 'vda', driverType: 'raw', source: { type: 'file', path: '/var/lib/libvirt/images/full-vm-data.img' }, bootOrder: 2 },
      { device: 'cdrom', bus: 'sata', dev: 'sdb', driverType: 'raw', source: { type: 'file', path: '/var/lib/libvirt/images/tools.iso' }, address: { controller: 0, bus: 0, target: 0, unit: 1 }, bootOrder: 3 },
      { device: 'cdrom', bus: 'sata', dev: 'sdc', driverType: 'raw', source: { type: 'none' }, address: { controller: 0, bus: 0, target: 0, unit: 2 } },
    ],
    interfaces: [
      { type: 'network', source: 'default', model: 'vmxnet3', mac: '00:50:56:ab:cd:ef' },
      { type: 'bridge', source: 'br0', model: 'virtio' },
    ],
    videos: [{ model: 'vga' }],
    sounds: [{ model: 'ich9' }],
    tpm: { model: 'tpm-crb', version: '2.0' },
    serialConsole: true,
    serialLog: '/var/log/libvirt/qemu/full-vm-serial.log',
    graphics: { type: 'vnc', listen: '127.0.0.1' },
  };
}

/** A BIOS domain with no devices. */
export function minimalDomain(): DomainDescription {
  return {
    type: 'qemu',
    name: 'tiny',
    uuid: 'c3a1e8a2-0d3b-4b8e-9a55-5f0e2a1d7c44',
    memoryBytes: 256 * 2 ** 20,
    vcpus: 1,
    arch: 'x86_64',
    machine: 'pc',
    firmware: 'bios',
    secureBoot: false,
    clockOffset: 'localtime',
    controllers: [],
    disks: [],
    interfaces: [],
    videos: [],
    sounds: [],
    serialConsole: false,
  };
}

/** File targets for every drive of `plan`, as an import into `dir` would create them. */
function fileSources(plan: ImportPlan, dir: string, format: 'qcow2' | 'raw' = 'qcow2'): TargetedDrive[] {
  return assignTargets(plan.drives, { kind: 'dir', dir }, format, plan.mappings);
}

/** Plans `ovfPath` (descriptor only unless told), builds the domain with file sources and returns the domain and its XML. */
export async function planToXml(ovfPath: string, opts: Partial<PlanOptions> = {}): Promise<{ plan: ImportPlan; domain: DomainDescription; xml: string }> {
  const plan = await planImport({ source: ovfPath, profile: 'faithful', descriptorOnly: true, ...opts });
  const domain = buildDomainSpec(plan, fileSources(plan, '/var/lib/libvirt/images'), { type: 'kvm', uuid: randomUUID() });
  return { plan, domain, xml: domainToXml(domain, plan.mappings.domain, { source: ovfPath, virtualSystem: plan.virtualSystem.id, profile: opts.profile ?? 'faithful' }) };
}
