// Envelope to OVF descriptor XML (DSP0243 1.1 / 2.0) with xmlbuilder2, valid against DSP8023 1.1.0 / 2.0.1.
import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import type { OvfRules } from '../mapping/schema/domain.js';
import { serializeXml, xmlSafe } from '../xml/write.js';
import type { EnvelopeInput, ItemInput, VirtualSystemInput } from './model.js';
import { writeProductSection } from './write-product.js';

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

/**
 * virt-ovf's namespace for what DSP0243 and VMware have no element for (ThreadsPerCore); its
 * elements carry ovf:required="false", so other readers may ignore them (DSP0243 8.2).
 */
export const VIRT_OVF_OVF_NS = 'https://virt-ovf.org/xmlns/ovf/1.0';

/** How to write: OVF 1.x (DSP8023 1.1.0) or 2.0 (DSP8023 2.0.1); placeholders for unknown sizes. */
export interface WriteOptions {
  readonly version: 1 | 2;
  /** domain.json "ovf": the OVF 2.0 element (StorageItem, EthernetPortItem) of each ResourceType. */
  readonly rules: OvfRules;
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

/**
 * The element for an Item: in OVF 2.0, StorageItem (SASD) or EthernetPortItem (EPASD) for the
 * ResourceTypes domain.json ovf.ovf2Elements lists (drives, NICs, as VirtualBox writes them); else Item.
 */
function itemElement(item: ItemInput, version: 1 | 2, rules: OvfRules): { element: 'Item' | 'StorageItem' | 'EthernetPortItem'; prefix: 'rasd' | 'sasd' | 'epasd' } {
  const rt = item.resourceType;
  if (version === 2 && rt !== undefined && rules.ovf2Elements.StorageItem.includes(rt)) return { element: 'StorageItem', prefix: 'sasd' };
  if (version === 2 && rt !== undefined && rules.ovf2Elements.EthernetPortItem.includes(rt)) return { element: 'EthernetPortItem', prefix: 'epasd' };
  return { element: 'Item', prefix: 'rasd' };
}

function writeItem(section: XMLBuilder, item: ItemInput, version: 1 | 2, rules: OvfRules): void {
  const { element, prefix } = itemElement(item, version, rules);
  const el = section.ele(element, item.required === false ? { 'ovf:required': 'false' } : {});
  for (const [name, key] of RASD_ORDER) {
    const value = item[key];
    for (const v of Array.isArray(value) ? value : value !== undefined ? [value] : []) el.ele(`${prefix}:${name}`).txt(xmlSafe(String(v)));
  }
  if (item.coresPerSocket !== undefined) el.ele('vmw:CoresPerSocket', { 'ovf:required': 'false' }).txt(String(item.coresPerSocket));
  if (item.threadsPerCore !== undefined) el.ele(VIRT_OVF_OVF_NS, 'virt-ovf:ThreadsPerCore', { 'ovf:required': 'false' }).txt(String(item.threadsPerCore));
}

function writeVirtualSystem(env: XMLBuilder, vs: VirtualSystemInput, opts: WriteOptions): void {
  const sys = env.ele('VirtualSystem', { 'ovf:id': xmlSafe(vs.id) });
  sys.ele('Info').txt('A virtual machine');
  if (vs.name !== undefined) sys.ele('Name').txt(xmlSafe(vs.name));
  if (vs.annotation) sys.ele('AnnotationSection').ele('Info').txt('A human-readable annotation').up().ele('Annotation').txt(xmlSafe(vs.annotation));
  const o = vs.operatingSystem;
  if (o) {
    const os = sys.ele('OperatingSystemSection', { ...(o.id !== undefined ? { 'ovf:id': String(o.id) } : {}), ...(o.version ? { 'ovf:version': xmlSafe(o.version) } : {}), ...(o.vmwOsType ? { 'vmw:osType': o.vmwOsType } : {}) });
    os.ele('Info').txt('The kind of installed guest operating system');
    if (o.description) os.ele('Description').txt(xmlSafe(o.description));
  }
  const hw = sys.ele('VirtualHardwareSection', vs.hardware.transport?.length ? { 'ovf:transport': vs.hardware.transport.join(' ') } : {});
  hw.ele('Info').txt('Virtual hardware requirements');
  const system = hw.ele('System');
  system.ele('vssd:ElementName').txt('Virtual Hardware Family');
  system.ele('vssd:InstanceID').txt('0');
  system.ele('vssd:VirtualSystemIdentifier').txt(xmlSafe(vs.name ?? vs.id));
  if (vs.hardware.virtualSystemTypes.length > 0) system.ele('vssd:VirtualSystemType').txt(xmlSafe(vs.hardware.virtualSystemTypes.join(' ')));
  // DSP8023 2.0.1: Item*, then EthernetPortItem*, then StorageItem*.
  const rank = { Item: 0, EthernetPortItem: 1, StorageItem: 2 } as const;
  const items = vs.hardware.items.map((item, i) => ({ item, i, rank: rank[itemElement(item, opts.version, opts.rules).element] })).sort((a, b) => a.rank - b.rank || a.i - b.i);
  for (const { item } of items) writeItem(hw, item, opts.version, opts.rules);
  for (const [key, value] of Object.entries(vs.hardware.vmwConfig)) hw.ele('vmw:Config', { 'ovf:required': 'false', 'vmw:key': key, 'vmw:value': value });
  for (const product of vs.productSections ?? []) writeProductSection(sys, product);
}

/**
 * Writes an OVF descriptor (DSP0243 1.1 or 2.0): References, DiskSection, NetworkSection and
 * one VirtualSystem (its ProductSections after the VirtualHardwareSection, as ovftool writes
 * them), with RASD children in the CIM schema's order. OVF 2.0 descriptors use
 * the envelope/2 namespace and write drives as StorageItem and NICs as EthernetPortItem.
 * VMware's vmw: extensions (osType, CoresPerSocket, Config) are written in both versions:
 * they validate against DSP8023 1.1.0 with VMware's ovf-vmware.xsd, and against 2.0.1 as
 * lax ##other content. DSP8023 2.0.1 has no firmware property (CIM_VirtualSystemSettingData
 * has none; BootDeviceSection only orders boot sources), so vmw:Config firmware is the way
 * in 2.0 too (read by VMware, virt-ovf and, for OVF 1.x, the only version it reads, virt-v2v;
 * VirtualBox's ovfreader.cpp reads only the Items of the section). A processor Item's
 * threadsPerCore is virt-ovf:ThreadsPerCore ({@link VIRT_OVF_OVF_NS}), lax ##other content too.
 * @returns the XML text (UTF-8 declaration, pretty-printed, ending in a newline).
 * @throws RangeError unless the envelope holds exactly one VirtualSystem.
 */
export function writeEnvelope(input: EnvelopeInput, opts: WriteOptions): string {
  const [vs, ...more] = input.virtualSystems;
  if (!vs || more.length > 0) throw new RangeError(`writeEnvelope writes one VirtualSystem; got ${input.virtualSystems.length}`);
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
    // Who wrote it (EnvelopeType takes any attribute; lax): inspect and corpus name the producer from it.
    'xmlns:virt-ovf': VIRT_OVF_OVF_NS,
    'virt-ovf:producer': 'virt-ovf',
  });
  const refs = env.ele('References');
  for (const f of input.references) {
    const size = unknown(f.sizeBytes);
    refs.ele('File', {
      'ovf:href': xmlSafe(f.href),
      'ovf:id': f.id,
      ...(size !== undefined ? { 'ovf:size': size } : {}),
      ...(f.compression !== undefined ? { 'ovf:compression': f.compression } : {}),
      ...(f.chunkSizeBytes !== undefined ? { 'ovf:chunkSize': String(f.chunkSizeBytes) } : {}),
    });
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
        ...(d.parentRef !== undefined ? { 'ovf:parentRef': d.parentRef } : {}),
        ...(populated !== undefined ? { 'ovf:populatedSize': populated } : {}),
      });
    }
  }
  if (input.networks.length > 0) {
    const section = env.ele('NetworkSection');
    section.ele('Info').txt('The list of logical networks');
    for (const n of input.networks) section.ele('Network', { 'ovf:name': xmlSafe(n.name) }).ele('Description').txt(xmlSafe(n.description ?? `The ${n.name} network`));
  }
  writeVirtualSystem(env, vs, opts);
  return serializeXml(doc, { prettyPrint: true }) + '\n';
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
