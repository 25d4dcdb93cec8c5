// Reads a descriptor's RASD Items independently of src/ovf (plain fast-xml-parser, namespace
// prefixes dropped), so the corpus test can check the mapping against the descriptor itself.
import { XMLParser } from 'fast-xml-parser';

/** One Item as written: ResourceType, its rasd:Address, and the ovf:configuration it belongs to. */
export interface RawItem {
  readonly resourceType: number;
  readonly virtualQuantity?: number;
  readonly address?: string;
  readonly configuration?: string;
}

/** Items of each VirtualSystem (by ovf:id), and the DeploymentOptionSection default configuration. */
export interface RawDescriptor {
  readonly systems: ReadonlyMap<string, readonly RawItem[]>;
  readonly defaultConfiguration?: string;
}

type Node = Record<string, unknown>;
const list = (v: unknown): Node[] => (v === undefined ? [] : Array.isArray(v) ? (v as Node[]) : [v as Node]);
const text = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : typeof v === 'object' ? text((v as Node)['#text']) : String(v).trim());

/** Text of a descriptor: UTF-16 when it says so in its declaration or BOM, else UTF-8 (BOM dropped). */
export function decode(bytes: Buffer): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return bytes.subarray(2).toString('utf16le');
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return Buffer.from(bytes.subarray(2)).swap16().toString('utf16le');
  if (bytes[0] === 0x3c && bytes[1] === 0x00) return bytes.toString('utf16le');
  const utf8 = bytes.toString('utf8');
  return utf8.startsWith('\ufeff') ? utf8.slice(1) : utf8;
}

/** Every VirtualSystem (DSP0243 VirtualSystem, or OVF 0.9 Content) found anywhere under `node`. */
function systems(node: Node, out: Node[] = []): Node[] {
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('@_') || key === '#text') continue;
    for (const child of list(value)) {
      if (typeof child !== 'object' || child === null) continue;
      if (key === 'VirtualSystem' || (key === 'Content' && String(child['@_type'] ?? '').endsWith('VirtualSystem_Type'))) out.push(child);
      else systems(child, out);
    }
  }
  return out;
}

/** The hardware sections of a VirtualSystem: VirtualHardwareSection, or Section xsi:type VirtualHardwareSection_Type. */
function hardware(vs: Node): Node[] {
  return [...list(vs['VirtualHardwareSection']), ...list(vs['Section']).filter((s) => String(s['@_type'] ?? '').endsWith('VirtualHardwareSection_Type'))];
}

/** Parses `xml` into its VirtualSystems' Items. */
export function readItems(xml: string): RawDescriptor {
  const doc = new XMLParser({ ignoreAttributes: false, removeNSPrefix: true, parseTagValue: false, processEntities: false }).parse(xml) as Node;
  const map = new Map<string, RawItem[]>();
  for (const vs of systems(doc)) {
    const items = hardware(vs).flatMap((hw) => [...list(hw['Item']), ...list(hw['StorageItem']), ...list(hw['EthernetPortItem'])]);
    map.set(
      String(vs['@_id']),
      items.map((i) => {
        // A NIC's MAC is its rasd:Address; oVirt keeps a PCI address there and the MAC in rasd:MACAddress.
        const address = [text(i['Address']), text(i['MACAddress'])].find((a) => a !== undefined && /^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$/i.test(a)) ?? text(i['Address']);
        const [quantity, configuration] = [text(i['VirtualQuantity']), text(i['@_configuration'])];
        return { resourceType: Number(text(i['ResourceType'])), ...(quantity !== undefined ? { virtualQuantity: Number(quantity) } : {}), ...(address ? { address } : {}), ...(configuration ? { configuration } : {}) };
      }),
    );
  }
  const configs = list((list(((doc['Envelope'] ?? {}) as Node)['DeploymentOptionSection'])[0] ?? {})['Configuration']);
  const chosen = configs.find((c) => text(c['@_default']) === 'true') ?? configs[0];
  return { systems: map, ...(chosen ? { defaultConfiguration: String(chosen['@_id']) } : {}) };
}
