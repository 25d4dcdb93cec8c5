// Export, then import, gives the same domain: the USB controller model, the CPU topology, and the
// ProductSection with the OVF environment import recorded in the domain's metadata.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDomainXml } from '../../src/domain/parse.js';
import { mapVirtualSystem } from '../../src/mapping/apply.js';
import { loadMappings } from '../../src/mapping/load.js';
import { mapDomainToOvf } from '../../src/mapping/reverse.js';
import { environmentCdrom } from '../../src/mapping/reverse-system.js';
import { parseEnvelope } from '../../src/ovf/parse.js';
import { resolveProperties } from '../../src/ovf/properties.js';
import { writeEnvelope } from '../../src/ovf/write.js';

const mappings = loadMappings();

/** An inactive domain definition with `vcpus`, `extra` after <os> (the <cpu>), `metadata` children and `devices`. */
function domainXml(devices: string, opts: { vcpus?: number; extra?: string; metadata?: string } = {}): string {
  return `<domain type='kvm'><name>guest</name>${opts.metadata ? `<metadata>${opts.metadata}</metadata>` : ''}<memory unit='MiB'>1024</memory><vcpu>${opts.vcpus ?? 2}</vcpu>
  <os><type arch='x86_64' machine='pc-q35-8.2'>hvm</type></os>${opts.extra ?? ''}<devices>${devices}</devices></domain>`;
}

/** Maps the domain to OVF (every CD-ROM with a file gets an ISO), writes it as OVF `version`, and parses it again. */
function exportAndRead(xml: string, version: 1 | 2 = 1) {
  const domain = parseDomainXml(xml, mappings.domain);
  const drives = domain.disks.map((disk, i) => (disk.source.type === 'none' ? { disk } : { disk, image: { href: `guest-${i}.${disk.device === 'cdrom' ? 'iso' : 'vmdk'}`, format: disk.device === 'cdrom' ? ('raw' as const) : ('vmdk' as const), capacityBytes: 2 ** 30 } }));
  const r = mapDomainToOvf(domain, mappings, { ovfVersion: version, drives });
  const text = writeEnvelope(r.envelope, { version, rules: mappings.domain.ovf });
  const env = parseEnvelope(Buffer.from(text), 'guest.ovf');
  return { domain, r, text, env, back: mapVirtualSystem(env, env.virtualSystems[0]!, mappings, { profile: 'faithful' }) };
}

const topology = (s: number, c: number, t: number, d = 1) => `<cpu><topology sockets='${s}' dies='${d}' cores='${c}' threads='${t}'/></cpu>`;
const cdrom = (dev: string, source: string) => `<disk type='volume' device='cdrom'><driver name='qemu' type='raw'/><source ${source}/><target dev='${dev}' bus='sata'/><readonly/></disk>`;
const ENV_VOLUME = "pool='images' volume='guest-ovf-env.iso'";
const V = 'https://virt-ovf.org/xmlns/domain/1.0';
const metadata = (transport: string) => `<virt-ovf:import xmlns:virt-ovf='${V}' source='/srv/appliance.ova' virtual-system='guest' profile='faithful'>
  <virt-ovf:environment${transport} dev='sdb' pool='images' volume='guest-ovf-env.iso'/>
  <virt-ovf:product class='org.example' instance='1' product='Appliance' vendor='Example' version='2.1'>
    <virt-ovf:property key='org.example.hostname.1' type='string' value='lab-host' label='Host name' category='Network' user-configurable='true'/>
    <virt-ovf:property key='org.example.motd.1' type='string' value='one&#10;two &amp; &quot;three&quot;' category='Welcome' user-configurable='true'/>
    <virt-ovf:property key='org.example.port.1' type='uint16' value='2222' qualifiers='MinValue(1)' category='Welcome'/>
    <virt-ovf:property key='org.example.secret.1' type='string' password='true' user-configurable='true'/>
  </virt-ovf:product>
</virt-ovf:import>`;

describe('export round trip: the USB controller model', () => {
  for (const model of ['piix3-uhci', 'piix4-uhci', 'pci-ohci', 'qemu-xhci', 'ich9-ehci1']) {
    it(`${model} comes back as ${model}, without a warning`, () => {
      const { r, back } = exportAndRead(domainXml(`<controller type='usb' index='0' model='${model}'/>`));
      assert.deepEqual(back.usb, [{ model }]);
      assert.deepEqual(r.warnings, []);
    });
  }
});

describe('export round trip: the CPU topology', () => {
  const cases: [string, number, string, Record<string, unknown>, { sockets: number; cores: number; threads: number } | undefined][] = [
    ['4 sockets of 1 core', 4, topology(4, 1, 1), { coresPerSocket: 1 }, { sockets: 4, cores: 1, threads: 1 }],
    ['1 socket of 4 cores', 4, topology(1, 4, 1), { coresPerSocket: 4 }, { sockets: 1, cores: 4, threads: 1 }],
    ['2 sockets of 2 cores of 2 threads', 8, topology(2, 2, 2), { coresPerSocket: 4, threadsPerCore: 2 }, { sockets: 2, cores: 2, threads: 2 }],
    ['no topology', 3, '', {}, undefined],
  ];
  for (const [name, vcpus, cpu, written, expected] of cases) {
    for (const version of [1, 2] as const) {
      it(`${name} (OVF ${version}.x): written as ${JSON.stringify(written)}, read back the same`, () => {
        const { r, back } = exportAndRead(domainXml('', { vcpus, extra: cpu }), version);
        const item = r.envelope.virtualSystems[0]!.hardware.items.find((i) => i.resourceType === 3)!;
        assert.deepEqual({ ...(item.coresPerSocket !== undefined ? { coresPerSocket: item.coresPerSocket } : {}), ...(item.threadsPerCore !== undefined ? { threadsPerCore: item.threadsPerCore } : {}) }, written);
        assert.deepEqual([back.vcpus, back.topology], [vcpus, expected]);
      });
    }
  }

  it('writes dies as cores, with a warning', () => {
    const { r, back } = exportAndRead(domainXml('', { vcpus: 8, extra: topology(2, 2, 1, 2) }));
    assert.match(r.warnings.join('\n'), /2 dies per socket are not carried; written as 4 cores per socket/);
    assert.deepEqual(back.topology, { sockets: 2, cores: 4, threads: 1 });
  });

  it('reads ThreadsPerCore only when it divides CoresPerSocket', () => {
    const { text } = exportAndRead(domainXml('', { vcpus: 8, extra: topology(2, 2, 2) }));
    const odd = text.replace(/(<virt-ovf:ThreadsPerCore[^>]*>)2</, '$13<');
    const env = parseEnvelope(Buffer.from(odd), 'odd.ovf');
    assert.deepEqual(mapVirtualSystem(env, env.virtualSystems[0]!, mappings, { profile: 'faithful' }).topology, { sockets: 2, cores: 4, threads: 1 });
  });
});

describe('export round trip: the ProductSection and the OVF environment', () => {
  const devices = `<disk type='file' device='disk'><source file='/i/a'/><target dev='sda' bus='sata'/></disk>${cdrom('sdb', ENV_VOLUME)}${cdrom('sdc', "pool='images' volume='tools.iso'")}<controller type='sata' index='0'/>`;

  it('writes the ProductSection with the values recorded at import, declares iso, and leaves the ovf-env.xml CD-ROM out', () => {
    const { domain, r, env } = exportAndRead(domainXml(devices, { metadata: metadata(" transport='com.vmware.guestInfo'") }));
    assert.equal(environmentCdrom(domain)?.dev, 'sdb');
    const vs = env.virtualSystems[0]!;
    assert.deepEqual(vs.hardware.transport, ['com.vmware.guestInfo', 'iso']);
    assert.deepEqual(vs.hardware.items.filter((i) => i.resourceType === 15 || i.resourceType === 16).map((i) => i.description), ['sdc'], 'only the other CD-ROM is a drive');
    assert.deepEqual(r.files.map((f) => f.disk.dev), ['sda', 'sdc']);
    const [product] = vs.productSections;
    assert.deepEqual([product!.class, product!.instance, product!.product, product!.vendor, product!.version], ['org.example', '1', 'Appliance', 'Example', '2.1']);
    assert.deepEqual(
      product!.properties.map((p) => [p.key, p.type, p.value, p.category, p.userConfigurable, p.password]),
      [
        ['org.example.hostname.1', 'string', 'lab-host', 'Network', true, false],
        ['org.example.motd.1', 'string', 'one\ntwo & "three"', 'Welcome', true, false],
        ['org.example.port.1', 'uint16', '2222', 'Welcome', false, false],
        ['org.example.secret.1', 'string', undefined, 'Welcome', true, true],
      ],
    );
    assert.equal(product!.properties[2]!.qualifiers, 'MinValue(1)');
    assert.match(r.warnings.join('\n'), /property org\.example\.secret\.1: a password is not kept in the domain's metadata.*--prop org\.example\.secret\.1=/);
    const values = resolveProperties(env, vs, {}).map((p) => [p.key, p.value]);
    assert.deepEqual(values, [['org.example.hostname.1', 'lab-host'], ['org.example.motd.1', 'one\ntwo & "three"'], ['org.example.port.1', '2222'], ['org.example.secret.1', undefined]], 'import reads the same values in force');
  });

  it('treats the CD-ROM as an ordinary one once its medium changed, and then declares only the recorded transports', () => {
    const changed = devices.replace(ENV_VOLUME, "pool='images' volume='other.iso'");
    const { domain, r, env } = exportAndRead(domainXml(changed, { metadata: metadata(" transport='com.vmware.guestInfo'") }));
    assert.equal(environmentCdrom(domain), undefined);
    assert.deepEqual(r.files.map((f) => f.disk.dev), ['sda', 'sdb', 'sdc']);
    assert.deepEqual(env.virtualSystems[0]!.hardware.transport, ['com.vmware.guestInfo']);
  });

  it('writes no ProductSection and no transport for a domain import did not make', () => {
    const { env, text } = exportAndRead(domainXml(devices));
    assert.deepEqual([env.virtualSystems[0]!.productSections, env.virtualSystems[0]!.hardware.transport], [[], []]);
    assert.doesNotMatch(text, /ProductSection|ovf:transport/);
  });

  it('writes OVF 2.0 the same way', () => {
    const { env } = exportAndRead(domainXml(devices, { metadata: metadata('') }), 2);
    assert.deepEqual(env.virtualSystems[0]!.hardware.transport, ['iso']);
    assert.deepEqual(env.virtualSystems[0]!.productSections[0]!.properties.map((p) => p.value), ['lab-host', 'one\ntwo & "three"', '2222', undefined]);
  });
});
