// Descriptors that repeat sections, leave out elements, or come from Ganeti: what parseEnvelope and mapVirtualSystem make of them.
import assert from 'node:assert/strict';
import { identifyProducer } from '../../src/mapping/producer.js';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { OvfParseError } from '../../src/errors.js';
import { mapVirtualSystem } from '../../src/mapping/apply.js';
import { loadMappings } from '../../src/mapping/load.js';
import { parseEnvelope } from '../../src/ovf/parse.js';
import { cpuAndMemory, DATA_DIR, NS, ovfDocument } from './helpers.js';

const VMDK = 'http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized';

/** A descriptor with one DiskSection and one NetworkSection per disk and network, as some producers write. */
function splitSections(opts: { secondDiskId?: string } = {}): string {
  const disk = (id: string, file: string) => `  <DiskSection>\n    <Info>Disk</Info>\n    <Disk ovf:diskId="${id}" ovf:fileRef="${file}" ovf:capacity="1" ovf:capacityAllocationUnits="byte * 2^30" ovf:format="${VMDK}"/>\n  </DiskSection>`;
  const net = (name: string) => `  <NetworkSection>\n    <Info>Net</Info>\n    <Network ovf:name="${name}"><Description>${name}</Description></Network>\n  </NetworkSection>`;
  const item = (rasd: Record<string, string>) => `      <Item>\n${Object.entries(rasd).map(([k, v]) => `        <rasd:${k}>${v}</rasd:${k}>`).join('\n')}\n      </Item>`;
  return `<?xml version="1.0"?>
<Envelope xmlns="${NS.ovf1}" xmlns:ovf="${NS.ovf1}" xmlns:rasd="${NS.rasd}" xmlns:vssd="${NS.vssd}">
  <References>
    <File ovf:id="f1" ovf:href="a.vmdk"/>
    <File ovf:id="f2" ovf:href="b.vmdk"/>
  </References>
${disk('d1', 'f1')}
${disk(opts.secondDiskId ?? 'd2', 'f2')}
${net('LAN')}
${net('DMZ')}
${net('LAN')}
  <VirtualSystem ovf:id="vm">
    <Info>VM</Info>
    <VirtualHardwareSection>
      <Info>HW</Info>
${item({ InstanceID: '1', ResourceType: '3', VirtualQuantity: '1' })}
${item({ InstanceID: '2', ResourceType: '4', VirtualQuantity: '512', AllocationUnits: 'byte * 2^20' })}
${item({ InstanceID: '3', ResourceType: '6', ResourceSubType: 'lsilogic' })}
${item({ InstanceID: '4', ResourceType: '17', Parent: '3', AddressOnParent: '0', HostResource: 'ovf:/disk/d1' })}
${item({ InstanceID: '5', ResourceType: '17', Parent: '3', AddressOnParent: '1', HostResource: 'ovf:/disk/d2' })}
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
`;
}

describe('repeated sections', () => {
  it('merges every DiskSection (the last one no longer wins) and every NetworkSection, once per name', () => {
    const env = parseEnvelope(Buffer.from(splitSections()), 'split.ovf');
    assert.deepEqual(env.disks.map((d) => [d.diskId, d.fileRef, d.capacityBytes]), [['d1', 'f1', 2 ** 30], ['d2', 'f2', 2 ** 30]]);
    assert.deepEqual(env.networks.map((n) => n.name), ['LAN', 'DMZ']);
    const mapped = mapVirtualSystem(env, env.virtualSystems[0]!, loadMappings(), { profile: 'faithful' });
    assert.deepEqual(mapped.disks.map((d) => d.ovfDisk?.diskId), ['d1', 'd2']);
  });

  it('refuses a Disk id that two DiskSections both declare, naming both places', () => {
    assert.throws(
      () => parseEnvelope(Buffer.from(splitSections({ secondDiskId: 'd1' })), 'dup.ovf'),
      (e: unknown) => e instanceof OvfParseError && /DiskSection\[2\]\/Disk\[1\] has ovf:diskId="d1", which DiskSection\/Disk\[1\] already has/.test(e.message),
    );
  });
});

describe('absent elements are reported as absent', () => {
  const memoryWithout = (rasd: Record<string, string>) =>
    ovfDocument({ systems: [{ id: 'vm', items: [cpuAndMemory()[0]!, { rasd: { ElementName: 'Memory', InstanceID: '2', ResourceType: '4', ...rasd } }] }] });

  it('a memory Item without VirtualQuantity is a warning and the default memory, not "" is not a non-negative integer', () => {
    const env = parseEnvelope(Buffer.from(memoryWithout({ AllocationUnits: 'byte * 2^20' })), 'noqty.ovf');
    const m = loadMappings();
    const mapped = mapVirtualSystem(env, env.virtualSystems[0]!, m, { profile: 'faithful' });
    assert.equal(mapped.memoryBytes, m.defaults.memoryMiBWhenAbsent * 2 ** 20);
    assert.ok(mapped.warnings.some((w) => /Item InstanceID 2 \("Memory"\): the memory Item has no VirtualQuantity; using \d+ MiB/.test(w)), mapped.warnings.join('\n'));
    assert.ok(!mapped.warnings.some((w) => /has no memory Item/.test(w)), 'the Item is there; only its quantity is absent');
  });

  it('a processor Item without VirtualQuantity says so and uses 1 vCPU', () => {
    const doc = ovfDocument({ systems: [{ id: 'vm', items: [{ rasd: { InstanceID: '1', ResourceType: '3' } }, cpuAndMemory()[1]!] }] });
    const env = parseEnvelope(Buffer.from(doc), 'nocpu.ovf');
    const mapped = mapVirtualSystem(env, env.virtualSystems[0]!, loadMappings(), { profile: 'faithful' });
    assert.equal(mapped.vcpus, 1);
    assert.ok(mapped.warnings.some((w) => /processor Item has no VirtualQuantity; using 1 vCPU/.test(w)));
  });

  it('an empty ovf:capacity says it is empty', () => {
    const doc = ovfDocument({ files: [{ id: 'f1', href: 'a.vmdk' }], disks: [{ id: 'd1', capacity: ' ', fileRef: 'f1' }], systems: [{ id: 'vm', items: cpuAndMemory() }] });
    assert.throws(() => parseEnvelope(Buffer.from(doc), 'empty.ovf'), /DiskSection\/Disk\[1\]\/@ovf:capacity is empty; a non-negative integer is needed/);
  });
});

describe('producer recognition', () => {
  it('calls a Ganeti export (GanetiSection, VirtualBox system type) Ganeti, not VirtualBox', () => {
    const doc = ovfDocument({ systems: [{ id: 'vm', systemType: 'virtualbox-2.2', items: cpuAndMemory() }] })
      .replace('<Envelope ', '<Envelope xmlns:gnt="http://ganeti" ')
      .replace('  <References>', '  <gnt:GanetiSection><gnt:Version>0</gnt:Version></gnt:GanetiSection>\n  <References>');
    assert.equal(identifyProducer(parseEnvelope(Buffer.from(doc), 'ganeti.ovf'), loadMappings()), 'Ganeti');
    const vbox = ovfDocument({ systems: [{ id: 'vm', systemType: 'virtualbox-2.2', items: cpuAndMemory() }] });
    assert.equal(identifyProducer(parseEnvelope(Buffer.from(vbox), 'vbox.ovf'), loadMappings()), 'VirtualBox');
  });

  it("calls virt-ovf's own export virt-ovf, not VMware, though it writes vmx-13 (its libosinfo id, or the annotation of a domain it imported)", () => {
    const exported = readFileSync(join(DATA_DIR, 'golden', 'export', 'kvm-q35-virtio-efi-tpm.ovf'));
    const env = parseEnvelope(exported, 'kvm-q35-virtio-efi-tpm.ovf');
    assert.deepEqual(env.virtualSystems[0]!.hardware.virtualSystemTypes, ['vmx-13']);
    assert.equal(identifyProducer(env, loadMappings()), 'virt-ovf');
    const reimported = ovfDocument({ systems: [{ id: 'vm', items: cpuAndMemory() }] }).replace(
      '    <VirtualHardwareSection>',
      '    <AnnotationSection><Info>A</Info><Annotation>Imported by virt-ovf from /srv/app.ova (VirtualSystem "app")</Annotation></AnnotationSection>\n    <VirtualHardwareSection>',
    );
    assert.equal(identifyProducer(parseEnvelope(Buffer.from(reimported), 'again.ovf'), loadMappings()), 'virt-ovf');
    assert.equal(identifyProducer(parseEnvelope(Buffer.from(ovfDocument({ systems: [{ id: 'vm', items: cpuAndMemory() }] })), 'vmw.ovf'), loadMappings()), 'VMware');
  });

  it('calls every export golden virt-ovf by the virt-ovf:producer attribute on its Envelope, whatever the domain held', () => {
    const dir = join(DATA_DIR, 'golden', 'export');
    const files = readdirSync(dir).filter((f) => f.endsWith('.ovf'));
    assert.ok(files.length >= 5, `export goldens in ${dir}`);
    for (const f of files) {
      const env = parseEnvelope(readFileSync(join(dir, f)), f);
      assert.equal(identifyProducer(env, loadMappings()), 'virt-ovf', f);
      assert.ok(env.producerEvidence.namespaces.includes('https://virt-ovf.org/xmlns/ovf/1.0'), f);
    }
  });
});
