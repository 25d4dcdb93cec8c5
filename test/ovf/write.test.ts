// writeEnvelope: descriptors made from domains validate against the DMTF schemas (xmllint) and read back
// through virt-ovf's own parser and mapping tables to the same hardware.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import type { DomainDescription } from '../../src/domain/model.js';
import { parseDomainXml as parseWith } from '../../src/domain/parse.js';
import { mapVirtualSystem } from '../../src/mapping/apply.js';
import { loadMappings } from '../../src/mapping/load.js';
import { mapDomainToOvf } from '../../src/mapping/reverse.js';
import { environmentCdrom } from '../../src/mapping/reverse-system.js';
import { parseEnvelope } from '../../src/ovf/parse.js';
import type { EnvelopeInput } from '../../src/ovf/model.js';
import { OVF_ENVELOPE_NS, padDescriptor, writeEnvelope } from '../../src/ovf/write.js';
import { parseXml } from '../../src/xml/parse.js';
import { PROJECT_ROOT, withTempDir } from './helpers.js';

const SCHEMAS = resolve(PROJECT_ROOT, '..', 'shared', 'schemas', 'ovf');
const mappings = loadMappings();
const rules = mappings.domain.ovf;
const parseDomainXml = (xml: string) => parseWith(xml, mappings.domain);

/** Runs xmllint on `files` against `schema` with the offline catalog (SOURCES.md); resolves with exit code and output. */
function xmllint(schema: string, files: string[]): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    const env = { ...process.env, XML_CATALOG_FILES: join(SCHEMAS, 'catalog.xml') };
    execFile('xmllint', ['--nonet', '--noout', '--schema', join(SCHEMAS, schema), ...files], { env }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, output: `${stdout}${stderr}` });
    });
  });
}
const xmllintPresent = await new Promise<boolean>((done) => execFile('xmllint', ['--version'], (err) => done(!err)));
const skipSchema = !existsSync(join(SCHEMAS, 'dsp8023_1.1.0.xsd')) ? `${SCHEMAS} is absent` : !xmllintPresent ? 'xmllint is not installed' : undefined;

const devicesOf = (body: string, os = "<os><type arch='x86_64' machine='q35'>hvm</type></os>", extra = '', head = '<vcpu>2</vcpu>'): string =>
  `<domain type='kvm'><name>case</name><memory unit='MiB'>1536</memory>${head}${os}${extra}<devices>${body}</devices></domain>`;
const disk = (dev: string, bus: string, addr = '', device = 'disk', src = `<source file='/i/${dev}'/>`): string => `<disk type='file' device='${device}'>${src}<target dev='${dev}' bus='${bus}'/>${addr}</disk>`;
const drive = (c: number, u: number, t = 0, b = 0): string => `<address type='drive' controller='${c}' bus='${b}' target='${t}' unit='${u}'/>`;
const nic = (model: string, mac: string, source = "type='network'><source network='default'/"): string => `<interface ${source}><mac address='${mac}'/><model type='${model}'/></interface>`;

/** The domains every test writes: one per hardware combination the issue names. */
const CASES: Record<string, string> = {
  'BIOS, SATA disk, E1000': devicesOf(disk('sda', 'sata', drive(0, 0)) + "<controller type='sata' index='0'/>" + nic('e1000', '52:54:00:00:00:01')),
  'EFI with secure boot, pvscsi, vmxnet3': devicesOf(
    disk('sda', 'scsi', drive(0, 0, 0)) + disk('sdb', 'scsi', drive(0, 0, 1)) + "<controller type='scsi' index='0' model='vmpvscsi'/>" + nic('vmxnet3', '00:50:56:aa:bb:cc', "type='bridge'><source bridge='br0'/"),
    "<os firmware='efi'><type arch='x86_64' machine='q35'>hvm</type><firmware><feature enabled='yes' name='secure-boot'/></firmware></os>",
    "<cpu><topology sockets='1' dies='1' cores='2' threads='1'/></cpu>",
  ),
  'IDE disk and CD-ROM with an ISO, pc machine': devicesOf(disk('hda', 'ide', drive(0, 0)) + disk('hdc', 'ide', drive(0, 0, 0, 1), 'cdrom') + "<controller type='ide' index='0'/>" + nic('rtl8139', '52:54:00:00:00:02'), "<os><type arch='x86_64' machine='pc'>hvm</type></os>"),
  'several disks and NICs, video, sound, USB, TPM': devicesOf(
    [
      disk('vda', 'virtio'),
      disk('vdb', 'virtio'),
      disk('sda', 'scsi', drive(0, 0)),
      disk('sdb', 'sata', drive(0, 0)),
      disk('sdc', 'sata', drive(0, 1), 'cdrom', ''),
      "<controller type='scsi' index='0' model='lsisas1068'/><controller type='sata' index='0'/><controller type='usb' index='0' model='qemu-xhci'/>",
      nic('virtio', '52:54:00:00:00:03'),
      nic('e1000e', '52:54:00:00:00:04', "type='bridge'><source bridge='br0'/"),
      nic('pcnet', '52:54:00:00:00:05'),
      "<video><model type='qxl'/></video><sound model='ich9'/><tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>",
    ].join(''),
  ),
  'ProductSection and iso transport recorded at import, 2 sockets × 2 cores × 2 threads, piix3-uhci': devicesOf(
    disk('sda', 'sata', drive(0, 0)) + disk('sdb', 'sata', drive(0, 1), 'cdrom', "<source file='/i/case-ovf-env.iso'/>") + "<controller type='sata' index='0'/><controller type='usb' index='0' model='piix3-uhci'/>",
    undefined,
    "<cpu><topology sockets='2' dies='1' cores='2' threads='2'/></cpu>",
    `<metadata><virt-ovf:import xmlns:virt-ovf='https://virt-ovf.org/xmlns/domain/1.0' source='/srv/a.ova' virtual-system='case' profile='faithful'>
      <virt-ovf:environment transport='iso' dev='sdb' file='/i/case-ovf-env.iso'/>
      <virt-ovf:product class='org.example' instance='1' product='Case &amp; Co' vendor='Example' version='1.0'>
        <virt-ovf:property key='org.example.hostname.1' type='string' value='lab' label='Host name' description='The host name' category='Network' user-configurable='true'/>
        <virt-ovf:property key='org.example.port.1' type='uint16' value='22' qualifiers='MinValue(1) MaxValue(65535)' category='Network'/>
        <virt-ovf:property key='org.example.secret.1' type='string' password='true' user-configurable='true'/>
      </virt-ovf:product><virt-ovf:product/></virt-ovf:import></metadata><vcpu>8</vcpu>`,
  ),
};

/** Maps a case to descriptor input; disks get streamOptimized VMDKs, CD-ROM media stay ISOs. */
function envelopeFor(domain: DomainDescription, sizes = true): EnvelopeInput {
  return mapDomainToOvf(domain, mappings, {
    ovfVersion: 1,
    drives: domain.disks.map((d, i) => ({
      disk: d,
      ...(d.device === 'disk'
        ? { image: { href: `case-disk${i + 1}.vmdk`, format: 'vmdk' as const, capacityBytes: (i + 1) * 2 ** 30, ...(sizes ? { sizeBytes: 1234567 + i, populatedSizeBytes: 7654321 + i } : {}) } }
        : d.source.type === 'file'
          ? { image: { href: `case-cd${i + 1}.iso`, format: 'raw' as const, capacityBytes: 0, ...(sizes ? { sizeBytes: 2048 * 1000 } : {}) } }
          : {}),
    })),
  }).envelope;
}

describe('writeEnvelope: DMTF schema validation', () => {
  for (const version of [1, 2] as const) {
    it(`writes OVF ${version}.x descriptors that xmllint validates against DSP8023 ${version === 1 ? '1.1.0 (and with VMware’s ovf-vmware.xsd)' : '2.0.1'}`, async (t) => {
      if (skipSchema) return t.skip(skipSchema);
      await withTempDir(async (dir) => {
        const files = Object.entries(CASES).map(([name, xml], i) => {
          const file = join(dir, `case${i}.ovf`);
          writeFileSync(file, writeEnvelope(envelopeFor(parseDomainXml(xml)), { version, rules }));
          assert.ok(name);
          return file;
        });
        const schemas = version === 1 ? ['dsp8023_1.1.0.xsd', 'ovf1-plus-vmware-wrapper.xsd'] : ['dsp8023_2.0.1.xsd'];
        for (const schema of schemas) {
          const { code, output } = await xmllint(schema, files);
          assert.equal(code, 0, `xmllint --schema ${schema} exit ${code}:\n${output}`);
          assert.equal(output.match(/ validates$/gm)?.length, files.length, output);
        }
      });
    });
  }

  it('validates a placeholder descriptor too (sizes unknown)', async (t) => {
    if (skipSchema) return t.skip(skipSchema);
    await withTempDir(async (dir) => {
      const file = join(dir, 'placeholder.ovf');
      writeFileSync(file, writeEnvelope(envelopeFor(parseDomainXml(CASES['several disks and NICs, video, sound, USB, TPM']!), false), { version: 1, placeholders: true, rules }));
      const { code, output } = await xmllint('ovf1-plus-vmware-wrapper.xsd', [file]);
      assert.equal(code, 0, output);
    });
  });
});

describe('writeEnvelope: virt-ovf reads its own descriptors back', () => {
  for (const [name, xml] of Object.entries(CASES)) {
    for (const version of [1, 2] as const) {
      it(`${name} (OVF ${version}): same vCPUs, memory, firmware, buses, controller models, NIC models and MACs`, () => {
        const domain = parseDomainXml(xml);
        const env = parseEnvelope(Buffer.from(writeEnvelope(envelopeFor(domain), { version, rules })), 'case.ovf');
        assert.equal(env.version, String(version));
        const back = mapVirtualSystem(env, env.virtualSystems[0]!, mappings, { profile: 'faithful' });
        assert.equal(back.vcpus, domain.vcpus);
        assert.equal(back.memoryBytes, domain.memoryBytes);
        assert.deepEqual([back.firmware, back.secureBoot], [domain.firmware, domain.secureBoot]);
        if (domain.topology) assert.deepEqual(back.topology, { sockets: domain.topology.sockets, cores: domain.topology.cores, threads: domain.topology.threads });
        assert.deepEqual(back.usb.map((u) => u.model), domain.controllers.filter((c) => c.type === 'usb').map((c) => c.model));
        // The ovf-env.xml CD-ROM import attached is no drive of the package: re-import attaches it again.
        const drives = domain.disks.filter((d) => d !== environmentCdrom(domain));
        assert.deepEqual(back.disks.map((d) => [d.device, d.bus, d.dev]), drives.map((d) => [d.device, d.bus, d.dev]));
        assert.deepEqual(env.virtualSystems[0]!.productSections.flatMap((p) => p.properties.map((x) => [x.key, x.value])), (domain.importMetadata?.productSections ?? []).flatMap((p) => p.properties.map((x) => [x.key, x.value])));
        const storage = (c: { type: string; model?: string }) => ['ide', 'sata', 'scsi'].includes(c.type);
        assert.deepEqual(back.controllers.filter(storage).map((c) => [c.type, c.model]), domain.controllers.filter(storage).map((c) => [c.type, c.model]));
        assert.deepEqual(back.nics.map((n) => [n.model, n.mac, n.ovfNetwork]), domain.interfaces.map((n) => [n.model, n.mac, n.source]));
        assert.equal(back.video?.model, domain.videos[0]?.model);
        assert.equal(back.machine, domain.machine === 'pc' ? 'pc' : 'q35');
        const sized = env.references.filter((f) => f.href.endsWith('.vmdk'));
        assert.ok(sized.every((f) => f.sizeBytes !== undefined));
        assert.ok(env.disks.every((d) => d.capacityBytes !== undefined && d.populatedSizeBytes !== undefined && /streamOptimized/.test(d.format ?? '')));
      });
    }
  }
});

describe('writeEnvelope: layout', () => {
  const input = envelopeFor(parseDomainXml(CASES['several disks and NICs, video, sound, USB, TPM']!));

  it('writes RASD children in the CIM schema order and VMware extensions last', () => {
    const root = parseXml(writeEnvelope(input, { version: 1, rules }), 'x.ovf');
    const hw = root.children.find((c) => c.local === 'VirtualSystem')!.children.find((c) => c.local === 'VirtualHardwareSection')!;
    for (const item of hw.children.filter((c) => c.local === 'Item')) {
      const names = item.children.filter((c) => !c.qname.startsWith('vmw:')).map((c) => c.local);
      assert.deepEqual(names, [...names].sort(), names.join(' '));
      assert.ok(item.children.findIndex((c) => c.qname.startsWith('vmw:')) === -1 || item.children.at(-1)!.qname.startsWith('vmw:'));
    }
    assert.deepEqual(hw.children.slice(-1).map((c) => c.qname), ['vmw:Config']);
  });

  it('writes OVF 2.0 drives as StorageItem and NICs as EthernetPortItem, after every Item', () => {
    const root = parseXml(writeEnvelope(input, { version: 2, rules }), 'x.ovf');
    assert.equal(root.ns, OVF_ENVELOPE_NS[2]);
    const hw = root.children.find((c) => c.local === 'VirtualSystem')!.children.find((c) => c.local === 'VirtualHardwareSection')!;
    const kinds = hw.children.map((c) => c.local).filter((n) => n.endsWith('Item'));
    const first = (n: string) => kinds.indexOf(n);
    assert.ok(first('Item') < first('EthernetPortItem') && kinds.lastIndexOf('Item') < first('EthernetPortItem') && kinds.lastIndexOf('EthernetPortItem') < first('StorageItem'), kinds.join(' '));
    const storage = hw.children.find((c) => c.local === 'StorageItem')!;
    assert.ok(storage.children.every((c) => c.ns.endsWith('CIM_StorageAllocationSettingData')));
  });

  it('escapes names and drops characters XML cannot carry', () => {
    const vs = { ...input.virtualSystems[0]!, name: 'a & b <c> "d"\u0001', annotation: 'x\u0007y' };
    const env = parseEnvelope(Buffer.from(writeEnvelope({ ...input, virtualSystems: [vs] }, { version: 1, rules })), 'x.ovf');
    assert.equal(env.virtualSystems[0]!.name, 'a & b <c> "d"\uFFFD');
    assert.equal(env.virtualSystems[0]!.annotation, 'x\uFFFDy');
  });
});

describe('writeEnvelope: placeholders and padding for the OVA region', () => {
  const unsized = envelopeFor(parseDomainXml(CASES['several disks and NICs, video, sound, USB, TPM']!), false);
  const sized = envelopeFor(parseDomainXml(CASES['several disks and NICs, video, sound, USB, TPM']!), true);

  it('makes a placeholder descriptor at least as long as the final one, whatever the sizes turn out to be', () => {
    const bound = Buffer.byteLength(writeEnvelope(unsized, { version: 1, placeholders: true, rules }));
    assert.ok(bound >= Buffer.byteLength(writeEnvelope(sized, { version: 1, rules })));
    const huge = { ...sized, references: sized.references.map((f) => ({ ...f, sizeBytes: Number.MAX_SAFE_INTEGER })), disks: sized.disks.map((d) => ({ ...d, populatedSizeBytes: Number.MAX_SAFE_INTEGER })) };
    assert.equal(Buffer.byteLength(writeEnvelope(huge, { version: 1, rules })), bound);
    assert.match(writeEnvelope(unsized, { version: 1, placeholders: true, rules }), /ovf:size="9007199254740991"/);
    assert.doesNotMatch(writeEnvelope(unsized, { version: 1, rules }), /ovf:size=/);
  });

  it('pads the final descriptor to the reserved size with whitespace that parsers accept', () => {
    const bound = Buffer.byteLength(writeEnvelope(unsized, { version: 1, placeholders: true, rules }));
    const padded = padDescriptor(writeEnvelope(sized, { version: 1, rules }), bound);
    assert.equal(padded.length, bound);
    assert.match(padded.subarray(-2).toString(), /^ ?\n$/);
    const env = parseEnvelope(padded, 'padded.ovf');
    assert.equal(env.references.find((f) => f.id === 'file1')?.sizeBytes, 1234567);
    assert.throws(() => padDescriptor(writeEnvelope(sized, { version: 1, rules }), 100), RangeError);
  });
});
