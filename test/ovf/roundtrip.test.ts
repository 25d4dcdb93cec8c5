// One OVF model both ways: parseEnvelope(writeEnvelope(x)) gives back every field of x the writer writes.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadMappings } from '../../src/mapping/load.js';
import { ResourceType, type Envelope, type EnvelopeInput, type ItemInput } from '../../src/ovf/model.js';
import { parseEnvelope } from '../../src/ovf/parse.js';
import { writeEnvelope } from '../../src/ovf/write.js';
import { parseFixture } from './parse-helpers.js';

const rules = loadMappings().domain.ovf;

/** Item fields writeEnvelope writes. */
const ITEM_KEYS = ['instanceId', 'resourceType', 'resourceSubType', 'elementName', 'description', 'address', 'addressOnParent', 'parent', 'hostResource', 'connection', 'allocationUnits', 'virtualQuantity', 'automaticAllocation', 'required', 'coresPerSocket'] as const;

/** The part of an envelope writeEnvelope writes, with parser-only defaults (required, empty lists) made explicit. */
function written(env: EnvelopeInput | Envelope): unknown {
  const item = (i: ItemInput) => Object.fromEntries(ITEM_KEYS.map((k) => [k, i[k] ?? (k === 'required' ? true : k === 'hostResource' || k === 'connection' ? [] : undefined)]).filter(([, v]) => v !== undefined));
  return {
    references: env.references,
    disks: env.disks,
    networks: env.networks,
    virtualSystems: env.virtualSystems.map((vs) => ({
      id: vs.id,
      name: vs.name,
      annotation: vs.annotation,
      operatingSystem: vs.operatingSystem && { id: vs.operatingSystem.id, version: vs.operatingSystem.version, description: vs.operatingSystem.description, vmwOsType: vs.operatingSystem.vmwOsType },
      transport: vs.hardware.transport ?? [],
      virtualSystemTypes: vs.hardware.virtualSystemTypes,
      vmwConfig: { ...vs.hardware.vmwConfig },
      // DSP8023 2.0.1 orders Item, then EthernetPortItem, then StorageItem: compare items by InstanceID.
      items: vs.hardware.items.map(item).sort((a, b) => String(a['instanceId']).localeCompare(String(b['instanceId']), 'en', { numeric: true })),
    })),
  };
}

/** An envelope using every field the writer knows. */
const FULL: EnvelopeInput = {
  references: [
    { id: 'file1', href: 'a & b-disk1.vmdk', sizeBytes: 123456 },
    { id: 'file2', href: 'base.vmdk', sizeBytes: 4096, compression: 'gzip', chunkSizeBytes: 2 ** 30 },
    { id: 'file3', href: 'tools.iso' },
  ],
  disks: [
    { diskId: 'base', fileRef: 'file2', capacityBytes: 2 ** 33, format: 'http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized' },
    { diskId: 'vmdisk1', fileRef: 'file1', capacityBytes: 2 ** 34, populatedSizeBytes: 99, parentRef: 'base' },
    { diskId: 'blank', capacityBytes: 2 ** 20 },
  ],
  networks: [{ name: 'VM Network', description: 'The VM Network network' }],
  virtualSystems: [
    {
      id: 'vm',
      name: 'vm <one>',
      annotation: 'notes & more',
      operatingSystem: { id: 96, version: '12', description: 'Debian 12', vmwOsType: 'debian12_64Guest' },
      hardware: {
        transport: ['iso', 'com.vmware.guestInfo'],
        virtualSystemTypes: ['vmx-13', 'virtualbox-2.2'],
        vmwConfig: { firmware: 'efi', 'uefi.secureBoot.enabled': 'true' },
        items: [
          { instanceId: '1', resourceType: ResourceType.Processor, elementName: '4 virtual CPU(s)', allocationUnits: 'hertz * 10^6', virtualQuantity: '4', coresPerSocket: 2 },
          { instanceId: '2', resourceType: ResourceType.Memory, elementName: '1024MB of memory', allocationUnits: 'byte * 2^20', virtualQuantity: '1024' },
          { instanceId: '3', resourceType: ResourceType.ParallelScsiHba, resourceSubType: 'VirtualSCSI', elementName: 'SCSI controller 0', address: '0' },
          { instanceId: '4', resourceType: ResourceType.DiskDrive, elementName: 'Hard disk 1', hostResource: ['ovf:/disk/vmdisk1'], parent: '3', addressOnParent: '0' },
          { instanceId: '5', resourceType: ResourceType.CdDrive, elementName: 'CD/DVD drive 1', hostResource: ['ovf:/file/file3'], parent: '3', addressOnParent: '1', automaticAllocation: true, required: false },
          { instanceId: '6', resourceType: ResourceType.EthernetAdapter, resourceSubType: 'VmxNet3', elementName: 'Network adapter 1', description: 'on "VM Network"', connection: ['VM Network'], address: '00:50:56:aa:bb:cc', automaticAllocation: true },
          { instanceId: '7', resourceType: ResourceType.GraphicsController, elementName: 'Video card', required: false },
        ],
      },
    },
  ],
};

describe('OVF model round trip', () => {
  for (const version of [1, 2] as const) {
    it(`reads back every field writeEnvelope writes (OVF ${version})`, () => {
      const env = parseEnvelope(Buffer.from(writeEnvelope(FULL, { version, rules })), 'full.ovf');
      assert.deepEqual(written(env), written(FULL));
      const elements = env.virtualSystems[0]!.hardware.items.map((i) => [i.instanceId, i.element]);
      const want = version === 1 ? elements.map(([id]) => [id, 'Item']) : elements.map(([id]) => [id, id === '4' || id === '5' ? 'StorageItem' : id === '6' ? 'EthernetPortItem' : 'Item']);
      assert.deepEqual(elements, want);
    });
  }

  it('writes what it parsed from the fixtures and reads the same back', () => {
    for (const name of ['vmware-ovf10.ovf', 'vbox-ovf20.ovf', 'prefixed-no-default-ns.ovf', 'ovirt-style.ovf', 'vmware-ovf09.ovf']) {
      const first = parseFixture(name);
      // The writer needs a capacity per Disk and one VirtualSystem; a Network without Description gets one (DSP8023 requires it), so give it here.
      const writable = {
        ...first,
        disks: first.disks.map((d) => ({ ...d, capacityBytes: d.capacityBytes ?? 0 })),
        networks: first.networks.map((n) => ({ ...n, description: n.description ?? `The ${n.name} network` })),
        virtualSystems: first.virtualSystems.slice(0, 1),
      };
      for (const version of [1, 2] as const) {
        const again = parseEnvelope(Buffer.from(writeEnvelope(writable, { version, rules })), name);
        assert.deepEqual(written(again), written(writable), `${name} (OVF ${version})`);
      }
    }
  });
});
