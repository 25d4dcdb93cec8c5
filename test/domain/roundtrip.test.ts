// One domain model both ways: parseDomainXml(domainToXml(x)) equals x, for hand-built domains and for what import builds.

import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { domainDefaults } from '../../src/domain/defaults.js';
import type { DomainDescription } from '../../src/domain/model.js';
import { parseDomainXml } from '../../src/domain/parse.js';
import { domainToXml } from '../../src/domain/xml.js';
import { DATA_DIR, withTempDir } from '../ovf/helpers.js';
import { fullDomain, minimalDomain, planToXml, rules } from './helpers.js';

/** `d` as the reader returns it: the writer's defaults filled, dies explicit. */
function complete(d: DomainDescription): DomainDescription {
  const filled = domainDefaults(d, rules);
  return { ...filled, ...(filled.topology ? { topology: { ...filled.topology, dies: filled.topology.dies ?? rules.defaults.topologyDies } } : {}), ...(filled.tpm ? { tpm: { backend: rules.defaults.tpmBackend, ...filled.tpm } } : {}) };
}

/** Every device kind the model holds, with sources and attachments the writer of import never produces. */
function everything(): DomainDescription {
  return {
    ...fullDomain(),
    vcpusCurrent: 2,
    importMetadata: {
      source: '/srv/a.ova',
      virtualSystem: 'vm',
      profile: 'virtio',
      environment: { transport: ['iso', 'com.vmware.guestInfo'], cdrom: { dev: 'sdc', source: { type: 'volume', pool: 'default', volume: 'vm-ovf-env.iso' } } },
      productSections: [
        {
          class: 'org.example',
          instance: '1',
          product: 'Appliance & "Co"',
          vendor: 'Example',
          version: '2.1',
          properties: [
            { key: 'org.example.motd.1', type: 'string', value: 'line one\nline\ttwo <&>', password: false, userConfigurable: true, label: 'Message', description: 'Shown at login', category: 'Welcome', qualifiers: 'MaxLen(200)', configuration: [], values: [] },
            { key: 'org.example.empty.1', type: 'string', value: '', password: false, userConfigurable: false, configuration: [], values: [] },
            { key: 'org.example.secret.1', type: 'string', password: true, userConfigurable: true, configuration: [], values: [] },
          ],
        },
        { properties: [] },
      ],
    },
    cpuMode: 'host-model',
    features: [{ name: 'acpi' }, { name: 'smm', state: 'on' }],
    onPoweroff: 'destroy',
    onReboot: 'restart',
    onCrash: 'coredump-destroy',
    disks: [
      ...fullDomain().disks.map((d) => ({ ...d, readonly: d.device === 'cdrom' })),
      { device: 'disk', bus: 'sata', dev: 'sdd', driverType: 'raw', source: { type: 'block', dev: '/dev/vg0/data' }, readonly: false, address: { controller: 0, bus: 0, target: 0, unit: 3 } },
      { device: 'disk', bus: 'virtio', dev: 'vdb', driverType: 'raw', source: { type: 'network', protocol: 'rbd', name: 'pool/image' }, readonly: true },
      { device: 'floppy', bus: 'fdc', dev: 'fda', source: { type: 'none' }, readonly: false },
    ],
    interfaces: [...fullDomain().interfaces, { type: 'user', model: 'e1000' }, { type: 'direct', source: 'eth0', model: 'virtio', mac: '52:54:00:00:00:09' }],
    videos: [{ model: 'qxl' }, { model: 'virtio' }],
    sounds: [{ model: 'ich9' }, { model: 'ac97' }],
    tpm: { model: 'tpm-tis', backend: 'emulator', version: '1.2' },
    memballoon: 'virtio',
  };
}

describe('domain model round trip', () => {
  it('reads back every field of a domain using every element the model holds', () => {
    const x = complete(everything());
    assert.deepEqual(parseDomainXml(domainToXml(x, rules), rules), x);
  });

  it('reads back the full and the minimal domain once their defaults are filled', () => {
    for (const d of [fullDomain(), minimalDomain(), { ...minimalDomain(), firmware: 'efi' as const, machine: 'q35' }]) {
      const x = complete(d);
      assert.deepEqual(parseDomainXml(domainToXml(d, rules), rules), x, d.name);
    }
  });

  it('writes the same bytes from a domain and from its read-back copy', () => {
    for (const d of [fullDomain(), minimalDomain(), everything()]) {
      const xml = domainToXml(d, rules);
      assert.equal(domainToXml(parseDomainXml(xml, rules), rules), xml, d.name);
    }
  });

  it('reads back what import builds from the fixtures, for both profiles', async () => {
    await withTempDir(async (dir) => {
      for (const fixture of ['vmware-ovf10.ovf', 'prefixed-no-default-ns.ovf', 'vbox-ovf20.ovf', 'ovirt-style.ovf']) {
        const ovf = join(dir, fixture);
        copyFileSync(join(DATA_DIR, fixture), ovf);
        for (const profile of ['faithful', 'virtio']) {
          const { domain, xml } = await planToXml(ovf, { profile });
          const back = parseDomainXml(xml, rules);
          assert.deepEqual(back, complete({ ...domain, importMetadata: { source: ovf, virtualSystem: back.importMetadata!.virtualSystem, profile } }), `${fixture} (${profile})`);
          assert.equal(domainToXml(back, rules), xml, `${fixture} (${profile}): the same bytes again`);
        }
      }
    });
  });
});
