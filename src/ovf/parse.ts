// OVF descriptor bytes to Envelope (DSP0243 1.x/2.0, VMware's 0.9 draft, oVirt's dialect).
import { OvfParseError } from '../errors.js';
import type { Envelope, OvfDisk, OvfFile, OvfNetwork, OvfVersion, VirtualSystem } from './model.js';
import { parseHardwareSection } from './parse-hardware.js';
import { parseAllocationUnits, quantityToBytes } from './units.js';
import { decodeXmlBytes, parseXml, type XmlElement } from './xml.js';
import { attr, children, childText, sectionName } from './xml-access.js';

/** Envelope namespace URIs (trailing slash removed) and the version each stands for. */
const ENVELOPE_NS: Record<string, OvfVersion> = {
  'http://schemas.dmtf.org/ovf/envelope/1': '1',
  'http://schemas.dmtf.org/ovf/envelope/2': '2',
  'http://www.vmware.com/schema/ovf/1/envelope': '0.9',
};

/**
 * Parses an OVF descriptor.
 * @param bytes the descriptor exactly as read (any BOM, UTF-8 or UTF-16).
 * @param file name used in messages (the .ovf file or OVA member).
 * @throws OvfParseError naming file, element and reason: malformed XML, DOCTYPE, unknown
 *   envelope namespace, a Disk whose capacity or units cannot be read, dangling references.
 */
export function parseEnvelope(bytes: Buffer, file: string): Envelope {
  const root = parseXml(decodeXmlBytes(bytes), file);
  const ns = root.ns.replace(/\/$/, '');
  const version = ENVELOPE_NS[ns];
  if (root.local !== 'Envelope') throw new OvfParseError(`${file}: root element is <${root.qname}>, not an OVF <Envelope>`, { file, element: root.qname });
  if (version === undefined) {
    throw new OvfParseError(`${file}: unknown OVF envelope namespace "${root.ns || '(none)'}"; supported: OVF 0.9, 1.x and 2.0`, { file, element: 'Envelope/@xmlns' });
  }
  const ctx = { file, ovfNs: root.ns };
  let references: OvfFile[] = [];
  let disks: OvfDisk[] = [];
  let networks: OvfNetwork[] = [];
  const virtualSystems: VirtualSystem[] = [];
  let collection: Envelope['collection'];
  for (const el of root.children) {
    const name = sectionName(el);
    if (name === 'References') references = children(el, 'File').map((f, i) => parseFile(f, i, ctx));
    else if (name === 'DiskSection') disks = children(el, 'Disk').map((d, i) => parseDisk(d, i, ctx));
    else if (name === 'NetworkSection') networks = children(el, 'Network').map((n) => ({ name: attr(n, 'name', ctx) ?? '', ...opt('description', childText(n, 'Description')) }));
    else if (name === 'VirtualSystem') virtualSystems.push(parseVirtualSystem(el, ctx));
    else if (name === 'VirtualSystemCollection') {
      collection = { id: attr(el, 'id', ctx) ?? '', ...opt('name', childText(el, 'Name')) };
      collectSystems(el, virtualSystems, ctx);
    }
  }
  const envelope: Envelope = { version, file, references, disks, networks, virtualSystems, producer: detectProducer(root, virtualSystems), ...(collection ? { collection } : {}) };
  checkReferences(envelope);
  return envelope;
}

interface Ctx {
  readonly file: string;
  readonly ovfNs: string;
}

function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function collectSystems(el: XmlElement, out: VirtualSystem[], ctx: Ctx): void {
  for (const c of el.children) {
    const name = sectionName(c);
    if (name === 'VirtualSystem') out.push(parseVirtualSystem(c, ctx));
    else if (name === 'VirtualSystemCollection') collectSystems(c, out, ctx);
  }
}

function parseFile(f: XmlElement, index: number, ctx: Ctx): OvfFile {
  const where = `References/File[${index + 1}]`;
  const id = attr(f, 'id', ctx);
  const href = attr(f, 'href', ctx);
  if (!id || !href) throw new OvfParseError(`${ctx.file}: ${where} needs ovf:id and ovf:href`, { file: ctx.file, element: where });
  const size = attr(f, 'size', ctx);
  const chunk = attr(f, 'chunkSize', ctx);
  const compression = attr(f, 'compression', ctx);
  return {
    id,
    href,
    ...opt('sizeBytes', size === undefined ? undefined : quantityToBytes(size, 1, `${where}/@ovf:size`, ctx.file)),
    ...opt('chunkSizeBytes', chunk === undefined ? undefined : quantityToBytes(chunk, 1, `${where}/@ovf:chunkSize`, ctx.file)),
    ...opt('compression', compression === undefined || compression === 'identity' ? undefined : compression),
  };
}

function parseDisk(d: XmlElement, index: number, ctx: Ctx): OvfDisk {
  const where = `DiskSection/Disk[${index + 1}]`;
  const diskId = attr(d, 'diskId', ctx);
  if (!diskId) throw new OvfParseError(`${ctx.file}: ${where} has no ovf:diskId`, { file: ctx.file, element: where });
  const capacity = attr(d, 'capacity', ctx);
  let capacityBytes: number;
  if (capacity !== undefined) {
    const units = attr(d, 'capacityAllocationUnits', ctx) ?? 'byte';
    const multiplier = parseAllocationUnits(units, `${where}/@ovf:capacityAllocationUnits`, ctx.file);
    capacityBytes = quantityToBytes(capacity, multiplier, `${where}/@ovf:capacity`, ctx.file);
  } else {
    // oVirt writes the virtual size as ovf:size in GiB and no ovf:capacity.
    const size = attr(d, 'size', ctx);
    if (size === undefined) throw new OvfParseError(`${ctx.file}: ${where} (${diskId}) has no ovf:capacity`, { file: ctx.file, element: `${where}/@ovf:capacity` });
    capacityBytes = quantityToBytes(size, 1 << 30, `${where}/@ovf:size`, ctx.file);
  }
  const populated = attr(d, 'populatedSize', ctx);
  const fileRef = attr(d, 'fileRef', ctx);
  const parentRef = attr(d, 'parentRef', ctx);
  return {
    diskId,
    capacityBytes,
    ...opt('fileRef', fileRef || undefined),
    ...opt('format', attr(d, 'format', ctx)),
    ...opt('populatedSizeBytes', populated === undefined || !/^\d+$/.test(populated) ? undefined : Number(populated)),
    ...opt('parentRef', parentRef || undefined),
  };
}

function parseVirtualSystem(el: XmlElement, ctx: Ctx): VirtualSystem {
  const id = attr(el, 'id', ctx) ?? '';
  const hardwareSections = el.children.filter((c) => sectionName(c) === 'VirtualHardwareSection');
  if (hardwareSections.length === 0) {
    throw new OvfParseError(`${ctx.file}: VirtualSystem "${id}" has no VirtualHardwareSection`, { file: ctx.file, element: `VirtualSystem[@ovf:id="${id}"]` });
  }
  const osEl = el.children.find((c) => sectionName(c) === 'OperatingSystemSection');
  const annotation = el.children.find((c) => sectionName(c) === 'AnnotationSection');
  let operatingSystem: VirtualSystem['operatingSystem'];
  if (osEl) {
    const osId = attr(osEl, 'id', ctx);
    const vmwOsType = [...osEl.attrs].find(([k]) => k.endsWith('}osType'))?.[1];
    operatingSystem = {
      ...opt('id', osId !== undefined && /^\d+$/.test(osId) ? Number(osId) : undefined),
      ...opt('version', attr(osEl, 'version', ctx)),
      ...opt('description', childText(osEl, 'Description')),
      ...opt('vmwOsType', vmwOsType),
    };
  }
  return {
    id,
    hardware: parseHardwareSection(hardwareSections[0]!, ctx),
    ...opt('name', childText(el, 'Name')),
    ...opt('info', childText(el, 'Info')),
    ...opt('operatingSystem', operatingSystem),
    ...opt('annotation', annotation ? childText(annotation, 'Annotation') : undefined),
  };
}

function detectProducer(root: XmlElement, systems: readonly VirtualSystem[]): string {
  const uris = new Set<string>();
  const walk = (el: XmlElement, depth: number): void => {
    uris.add(el.ns);
    for (const key of el.attrs.keys()) if (key.startsWith('{')) uris.add(key.slice(1, key.indexOf('}')));
    if (depth < 3) el.children.forEach((c) => walk(c, depth + 1));
  };
  walk(root, 0);
  const types = systems.flatMap((s) => s.hardware.virtualSystemTypes).join(' ');
  if ([...uris].some((u) => u.includes('virtualbox.org')) || /virtualbox/i.test(types)) return 'VirtualBox';
  if (/ENGINE|RHEVM|ovirt/i.test(types) || [...uris].some((u) => u.includes('ovirt'))) return 'oVirt';
  if ([...uris].some((u) => u.includes('ganeti'))) return 'Ganeti';
  if ([...uris].some((u) => u.includes('citrix') || u.includes('xen'))) return 'XenServer';
  if (/vmx-/i.test(types) || [...uris].some((u) => u.includes('vmware.com'))) return 'VMware';
  return 'generic';
}

function checkReferences(env: Envelope): void {
  const fileIds = new Set(env.references.map((f) => f.id));
  const diskIds = new Set(env.disks.map((d) => d.diskId));
  for (const disk of env.disks) {
    if (disk.fileRef !== undefined && !fileIds.has(disk.fileRef)) {
      throw new OvfParseError(`${env.file}: Disk "${disk.diskId}" refers to ovf:fileRef="${disk.fileRef}", which no References/File declares`, {
        file: env.file,
        element: `DiskSection/Disk[@ovf:diskId="${disk.diskId}"]/@ovf:fileRef`,
      });
    }
    if (disk.parentRef !== undefined && !diskIds.has(disk.parentRef)) {
      throw new OvfParseError(`${env.file}: Disk "${disk.diskId}" has ovf:parentRef="${disk.parentRef}", which is no Disk`, { file: env.file, element: `DiskSection/Disk[@ovf:diskId="${disk.diskId}"]/@ovf:parentRef` });
    }
  }
}
