// Shared by the mapVirtualSystem tests: the built-in tables, a descriptor builder and common Items.
import { mapVirtualSystem, type MapOptions, type MappedSystem } from '../../src/mapping/apply.js';
import { loadMappings, type Mappings } from '../../src/mapping/load.js';
import { parseEnvelope } from '../../src/ovf/parse.js';
import { ovfDocument, type DocumentSpec, type ItemSpec } from '../ovf/helpers.js';

export const mappings = loadMappings();

/** vmdisk1 (a file) for the disk Item of InstanceID 4, and an empty Disk vmdisk-ID for each other InstanceID up to 40: a Disk is attached once. */
const DISK_FILES = {
  files: [{ id: 'file1', href: 'disk1.vmdk', size: 1000 }, { id: 'iso', href: 'tools.iso', size: 2048 }],
  disks: [{ id: 'vmdisk1', capacity: '8', units: 'byte * 2^30', fileRef: 'file1' }, ...Array.from({ length: 40 }, (_, i) => ({ id: `vmdisk-${i + 1}`, capacity: '1', units: 'byte * 2^30' }))],
};

type System = DocumentSpec['systems'][number];

/** Builds a one-system descriptor, parses it and maps it (with the built-in tables unless `tables` is given). */
export function mapItems(items: readonly ItemSpec[], opts: Partial<MapOptions> = {}, system: Partial<System> = {}, doc: Partial<DocumentSpec> = {}, tables: Mappings = mappings): MappedSystem {
  const text = ovfDocument({ ...DISK_FILES, networks: ['LAN', 'DMZ', 'Other'], ...doc, systems: [{ id: 'vm', items, ...system }] });
  const env = parseEnvelope(Buffer.from(text), 'test.ovf');
  return mapVirtualSystem(env, env.virtualSystems[0]!, tables, { profile: 'faithful', ...opts });
}

/** An Item from its rasd: children, optional attributes and extra XML. */
export const item = (rasd: Record<string, string | string[]>, attrs?: string, extraXml?: string): ItemSpec => ({ rasd, ...(attrs ? { attrs } : {}), ...(extraXml ? { extraXml } : {}) });

export const pvscsi = item({ InstanceID: '3', ResourceType: '6', ResourceSubType: 'VirtualSCSI', Address: '0' });
export const diskOn = (parent: string, address: string, id = '4', host = id === '4' ? 'ovf:/disk/vmdisk1' : `ovf:/disk/vmdisk-${id}`) => item({ InstanceID: id, ResourceType: '17', Parent: parent, AddressOnParent: address, HostResource: host, ElementName: `Hard disk ${id}` });
export const vmxnet3 = item({ InstanceID: '5', ResourceType: '10', ResourceSubType: 'VmxNet3', Connection: 'LAN' });
