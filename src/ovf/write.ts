// Envelope to OVF descriptor XML (DSP0243 1.1 / 2.0) with xmlbuilder2, valid against DSP8023 1.1.0 / 2.0.1.
import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import { xmlSafe } from '../domain/xml.js';

/** Envelope namespace by OVF major version (DSP8023). */
export const OVF_ENVELOPE_NS = { 1: 'http://schemas.dmtf.org/ovf/envelope/1', 2: 'http://schemas.dmtf.org/ovf/envelope/2' } as const;
const CIM = 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/';
/** Prefixes and namespaces of the CIM classes (DSP8023 imports) and VMware's extensions. */
const NS = {
  rasd: `${CIM}CIM_ResourceAllocationSettingData`,
  vssd: `${CIM}CIM_VirtualSystemSettingData`,
  sasd: `${CIM}CIM_StorageAllocationSettingData`,
  epasd: `${CIM}CIM_EthernetPortAllocationSettingData`,
  vmw: 'http://www.vmware.com/schema/ovf',
} as const;

/** References/File (DSP0243 7.1). */
export interface FileInput {
  readonly id: string;
  readonly href: string;
  /** ovf:size in bytes; left out when unknown (a placeholder in placeholder mode). */
  readonly sizeBytes?: number;
}

/** DiskSection/Disk (DSP0243 9.1); capacity is written in bytes (capacityAllocationUnits "byte"). */
export interface DiskInput {
  readonly diskId: string;
  readonly fileRef?: string;
  /** ovf:capacity: the virtual size in bytes. */
  readonly capacityBytes: number;
  /** ovf:populatedSize in bytes; left out when unknown (a placeholder in placeholder mode). */
  readonly populatedSizeBytes?: number;
  /** ovf:format URI (formats.json exportUri). */
  readonly format?: string;
}

/** NetworkSection/Network (DSP0243 9.2). */
export interface NetworkInput {
  readonly name: string;
  readonly description?: string;
}

/** One RASD Item (DSP0243 9.5; CIM_ResourceAllocationSettingData property names). */
export interface ItemInput {
  readonly instanceId: string;
  readonly resourceType: number;
  readonly resourceSubType?: string;
  readonly elementName: string;
  readonly description?: string;
  /** Address: the MAC of a NIC, the channel of an IDE controller. */
  readonly address?: string;
  readonly addressOnParent?: string;
  /** InstanceID of the controller Item. */
  readonly parent?: string;
  /** ovf:/disk/ID or ovf:/file/ID. */
  readonly hostResource?: string;
  /** Network name of a NIC (NetworkSection). */
  readonly connection?: string;
  readonly allocationUnits?: string;
  readonly virtualQuantity?: number;
  readonly automaticAllocation?: boolean;
  /** ovf:required; written only when false (DSP0243 default: true). */
  readonly required?: boolean;
  /** vmw:CoresPerSocket of a processor Item. */
  readonly coresPerSocket?: number;
}

/** VirtualSystem (DSP0243 8) with its OperatingSystemSection and VirtualHardwareSection. */
export interface VirtualSystemInput {
  readonly id: string;
  readonly name: string;
  readonly annotation?: string;
  /** ovf:id (CIM_OperatingSystem.OsType) and vmw:osType. */
  readonly operatingSystem: { readonly id: number; readonly vmwOsType?: string; readonly description?: string };
  /** vssd:VirtualSystemType, e.g. vmx-13. */
  readonly virtualSystemType: string;
  readonly items: readonly ItemInput[];
  /** vmw:Config key/value pairs of the VirtualHardwareSection (firmware, uefi.secureBoot.enabled). */
  readonly vmwConfig: readonly { readonly key: string; readonly value: string }[];
}

/** Everything one descriptor holds. */
export interface EnvelopeInput {
  readonly files: readonly FileInput[];
  readonly disks: readonly DiskInput[];
  readonly networks: readonly NetworkInput[];
  readonly virtualSystem: VirtualSystemInput;
}

/** How to write: OVF 1.x (DSP8023 1.1.0) or 2.0 (DSP8023 2.0.1); placeholders for unknown sizes. */
export interface WriteOptions {
  readonly version: 1 | 2;
  /**
   * Writes Number.MAX_SAFE_INTEGER for every unknown File ovf:size and Disk ovf:populatedSize,
   * so that the result is at least as long as the final descriptor written later from the same
   * input with those sizes known: its length is the space to reserve in an OVA.
   */
  readonly placeholders?: boolean;
}

/** CIM property order shared by RASD, SASD and EPASD (alphabetical, as the schemas' sequences). */
const RASD_ORDER = [
  ['Address', 'address'],
  ['AddressOnParent', 'addressOnParent'],
  ['AllocationUnits', 'allocationUnits'],
  ['AutomaticAllocation', 'automaticAllocation'],
  ['Connection', 'connection'],
  ['Description', 'description'],
  ['ElementName', 'elementName'],
  ['HostResource', 'hostResource'],
  ['InstanceID', 'instanceId'],
  ['Parent', 'parent'],
  ['ResourceSubType', 'resourceSubType'],
  ['ResourceType', 'resourceType'],
  ['VirtualQuantity', 'virtualQuantity'],
] as const;

/** OVF 2.0 element for an Item: StorageItem (SASD) for drives, EthernetPortItem (EPASD) for NICs, as VirtualBox writes them. */
function itemElement(item: ItemInput, version: 1 | 2): { element: 'Item' | 'StorageItem' | 'EthernetPortItem'; prefix: 'rasd' | 'sasd' | 'epasd' } {
  if (version === 2 && [15, 16, 17].includes(item.resourceType)) return { element: 'StorageItem', prefix: 'sasd' };
  if (version === 2 && item.resourceType === 10) return { element: 'EthernetPortItem', prefix: 'epasd' };
  return { element: 'Item', prefix: 'rasd' };
}

function writeItem(section: XMLBuilder, item: ItemInput, version: 1 | 2): void {
  const { element, prefix } = itemElement(item, version);
  const el = section.ele(element, item.required === false ? { 'ovf:required': 'false' } : {});
  for (const [name, key] of RASD_ORDER) {
    const value = item[key];
    if (value !== undefined) el.ele(`${prefix}:${name}`).txt(xmlSafe(String(value)));
  }
  if (item.coresPerSocket !== undefined) el.ele('vmw:CoresPerSocket', { 'ovf:required': 'false' }).txt(String(item.coresPerSocket));
}

function writeVirtualSystem(env: XMLBuilder, vs: VirtualSystemInput, version: 1 | 2): void {
  const sys = env.ele('VirtualSystem', { 'ovf:id': xmlSafe(vs.id) });
  sys.ele('Info').txt('A virtual machine');
  sys.ele('Name').txt(xmlSafe(vs.name));
  if (vs.annotation) sys.ele('AnnotationSection').ele('Info').txt('A human-readable annotation').up().ele('Annotation').txt(xmlSafe(vs.annotation));
  const os = sys.ele('OperatingSystemSection', { 'ovf:id': String(vs.operatingSystem.id), ...(vs.operatingSystem.vmwOsType ? { 'vmw:osType': vs.operatingSystem.vmwOsType } : {}) });
  os.ele('Info').txt('The kind of installed guest operating system');
  if (vs.operatingSystem.description) os.ele('Description').txt(xmlSafe(vs.operatingSystem.description));
  const hw = sys.ele('VirtualHardwareSection');
  hw.ele('Info').txt('Virtual hardware requirements');
  const system = hw.ele('System');
  system.ele('vssd:ElementName').txt('Virtual Hardware Family');
  system.ele('vssd:InstanceID').txt('0');
  system.ele('vssd:VirtualSystemIdentifier').txt(xmlSafe(vs.name));
  system.ele('vssd:VirtualSystemType').txt(vs.virtualSystemType);
  // DSP8023 2.0.1: Item*, then EthernetPortItem*, then StorageItem*.
  const rank = { Item: 0, EthernetPortItem: 1, StorageItem: 2 } as const;
  const items = vs.items.map((item, i) => ({ item, i, rank: rank[itemElement(item, version).element] })).sort((a, b) => a.rank - b.rank || a.i - b.i);
  for (const { item } of items) writeItem(hw, item, version);
  for (const c of vs.vmwConfig) hw.ele('vmw:Config', { 'ovf:required': 'false', 'vmw:key': c.key, 'vmw:value': c.value });
}

/**
 * Writes an OVF descriptor (DSP0243 1.1 or 2.0): References, DiskSection, NetworkSection and
 * one VirtualSystem, with RASD children in the CIM schema's order. OVF 2.0 descriptors use
 * the envelope/2 namespace and write drives as StorageItem and NICs as EthernetPortItem.
 * VMware's vmw: extensions (osType, CoresPerSocket, Config) are written in both versions:
 * they validate against DSP8023 1.1.0 with VMware's ovf-vmware.xsd, and against 2.0.1 as
 * lax ##other content. DSP8023 2.0.1 has no firmware property (CIM_VirtualSystemSettingData
 * has none; BootDeviceSection only orders boot sources), so vmw:Config firmware is the way
 * in 2.0 too (read by VMware, virt-ovf and, for OVF 1.x, the only version it reads, virt-v2v;
 * VirtualBox's ovfreader.cpp reads only the Items of the section).
 * @returns the XML text (UTF-8 declaration, pretty-printed, ending in a newline).
 */
export function writeEnvelope(input: EnvelopeInput, opts: WriteOptions): string {
  const ovf = OVF_ENVELOPE_NS[opts.version];
  const unknown = (n: number | undefined): string | undefined => (n !== undefined ? String(n) : opts.placeholders ? String(Number.MAX_SAFE_INTEGER) : undefined);
  const doc = create({ version: '1.0', encoding: 'UTF-8' });
  const env = doc.ele(ovf, 'Envelope', {
    xmlns: ovf,
    'xmlns:ovf': ovf,
    'xmlns:rasd': NS.rasd,
    'xmlns:vssd': NS.vssd,
    ...(opts.version === 2 ? { 'xmlns:sasd': NS.sasd, 'xmlns:epasd': NS.epasd } : {}),
    'xmlns:vmw': NS.vmw,
  });
  const refs = env.ele('References');
  for (const f of input.files) {
    const size = unknown(f.sizeBytes);
    refs.ele('File', { 'ovf:href': xmlSafe(f.href), 'ovf:id': f.id, ...(size !== undefined ? { 'ovf:size': size } : {}) });
  }
  if (input.disks.length > 0) {
    const section = env.ele('DiskSection');
    section.ele('Info').txt('Virtual disk information');
    for (const d of input.disks) {
      const populated = unknown(d.populatedSizeBytes);
      section.ele('Disk', {
        'ovf:capacity': String(d.capacityBytes),
        'ovf:capacityAllocationUnits': 'byte',
        'ovf:diskId': d.diskId,
        ...(d.fileRef !== undefined ? { 'ovf:fileRef': d.fileRef } : {}),
        ...(d.format !== undefined ? { 'ovf:format': d.format } : {}),
        ...(populated !== undefined ? { 'ovf:populatedSize': populated } : {}),
      });
    }
  }
  if (input.networks.length > 0) {
    const section = env.ele('NetworkSection');
    section.ele('Info').txt('The list of logical networks');
    for (const n of input.networks) section.ele('Network', { 'ovf:name': xmlSafe(n.name) }).ele('Description').txt(xmlSafe(n.description ?? `The ${n.name} network`));
  }
  writeVirtualSystem(env, input.virtualSystem, opts.version);
  return doc.end({ prettyPrint: true }) + '\n';
}

/**
 * Pads a descriptor with trailing whitespace after the root element (XML 1.0 "Misc") to
 * exactly `bytes` bytes of UTF-8, for the fixed-size OVF region at the start of an OVA.
 * @throws RangeError when the descriptor is longer than `bytes`.
 */
export function padDescriptor(xml: string, bytes: number): Buffer {
  const text = Buffer.from(xml, 'utf8');
  if (text.length > bytes) throw new RangeError(`the descriptor is ${text.length} bytes, more than the ${bytes} bytes reserved for it`);
  const out = Buffer.alloc(bytes, 0x20);
  text.copy(out);
  if (bytes > text.length) out[bytes - 1] = 0x0a;
  return out;
}
