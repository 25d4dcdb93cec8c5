// OVF descriptor bytes to Envelope (DSP0243 1.x/2.0, VMware's 0.9 draft, oVirt's dialect).
import { OvfParseError } from '../errors.js';
import type { DeploymentOption, Envelope, OvfDisk, OvfFile, OvfNetwork, OvfProperty, OvfVersion, ProductSection, VirtualSystem } from './model.js';
import { parseHardwareSection } from './parse-hardware.js';
import { producerEvidence } from './producer.js';
import { parseDeploymentOptions, parseEulas, parseProductSections } from './parse-product.js';
import { parseAllocationUnits, quantityToBytes } from './units.js';
import { decodeXmlBytes, parseXml, type XmlElement } from '../xml/parse.js';
import { attr, child, children, childText, sectionName } from '../xml/access.js';

/** Envelope namespace URIs (trailing slash removed) and the version each stands for. */
const ENVELOPE_NS: Record<string, OvfVersion> = {
  'http://schemas.dmtf.org/ovf/envelope/1': '1',
  'http://schemas.dmtf.org/ovf/envelope/2': '2',
  'http://www.vmware.com/schema/ovf/1/envelope': '0.9',
};

/** Choices that change what the descriptor means (--deployment, --prop). */
export interface ParseOptions {
  /** DeploymentOptionSection Configuration id; default: the one marked ovf:default, else the first. */
  readonly deployment?: string;
  /** Property values by qualified key, overriding ovf:value. */
  readonly properties?: Readonly<Record<string, string>>;
}

/**
 * Parses an OVF descriptor.
 * @param bytes the descriptor exactly as read (any BOM, UTF-8 or UTF-16).
 * @param file name used in messages (the .ovf file or OVA member).
 * @throws OvfParseError naming file, element and reason: malformed XML, DOCTYPE, unknown
 *   envelope namespace, a Disk whose capacity or units cannot be read, dangling references.
 */
export function parseEnvelope(bytes: Buffer, file: string, opts: ParseOptions = {}): Envelope {
  const root = parseXml(decodeXmlBytes(bytes), file);
  const ns = root.ns.replace(/\/$/, '');
  const version = ENVELOPE_NS[ns];
  if (root.local !== 'Envelope') throw new OvfParseError(`${file}: root element is <${root.qname}>, not an OVF <Envelope>`, { file, element: root.qname });
  if (version === undefined) {
    throw new OvfParseError(`${file}: unknown OVF envelope namespace "${root.ns || '(none)'}"; supported: OVF 0.9, 1.x and 2.0`, { file, element: 'Envelope/@xmlns' });
  }
  const warnings: string[] = [];
  const ctx: Ctx = { file, ovfNs: root.ns, warnings };
  let references: OvfFile[] = [];
  let rawDisks: RawDisk[] = [];
  let deploymentOptions: DeploymentOption[] = [];
  const productSections: ProductSection[] = parseProductSections(root, ctx);
  const eulas: string[] = parseEulas(root);
  let networks: OvfNetwork[] = [];
  const virtualSystems: VirtualSystem[] = [];
  let collection: Envelope['collection'];
  // A repeated section adds to the ones before it (a DiskSection per disk, as some producers
  // write): later entries with an id already seen are refused (Disk, File) or dropped (Network).
  const count = new Map<string, number>();
  const nth = (name: string): number => {
    count.set(name, (count.get(name) ?? 0) + 1);
    return count.get(name)!;
  };
  for (const el of root.children) {
    const name = sectionName(el);
    if (name === 'References') references = [...references, ...children(el, 'File').map((f, i) => parseFile(f, i, sectionLabel('References', nth(name)), ctx))];
    else if (name === 'DiskSection') rawDisks = [...rawDisks, ...children(el, 'Disk').map((d, i) => parseDisk(d, i, sectionLabel('DiskSection', nth(name)), ctx))];
    else if (name === 'DeploymentOptionSection') deploymentOptions = [...deploymentOptions, ...parseDeploymentOptions(el, ctx)];
    else if (name === 'NetworkSection') networks = mergeNetworks(networks, children(el, 'Network').map((n) => ({ name: attr(n, 'name', ctx) ?? '', ...opt('description', childText(n, 'Description')) })));
    else if (name === 'VirtualSystem') virtualSystems.push(parseVirtualSystem(el, ctx));
    else if (name === 'VirtualSystemCollection') {
      collection = { id: attr(el, 'id', ctx) ?? '', ...opt('name', childText(el, 'Name')) };
      productSections.push(...parseProductSections(el, ctx));
      eulas.push(...parseEulas(el));
      collectSystems(el, virtualSystems, ctx);
    }
  }
  if (opts.deployment !== undefined && !deploymentOptions.some((d) => d.id === opts.deployment)) {
    throw new OvfParseError(`${file}: deployment option ${opts.deployment}: no such DeploymentOptionSection Configuration (found: ${deploymentOptions.map((d) => d.id).join(', ') || 'none'})`, { file, element: 'DeploymentOptionSection', option: 'deployment' });
  }
  const deployment = opts.deployment ?? deploymentOptions.find((d) => d.isDefault)?.id ?? deploymentOptions[0]?.id;
  const allProperties = [...productSections, ...virtualSystems.flatMap((v) => v.productSections)].flatMap((p) => p.properties);
  refuseDuplicates(rawDisks.map((d) => ({ id: d.disk.diskId, where: d.where })), 'Disk', 'ovf:diskId', file);
  refuseDuplicates(references.map((f, i) => ({ id: f.id, where: `References/File[${i + 1}]` })), 'File', 'ovf:id', file);
  const disks = rawDisks.map((d) => resolveDisk(ovirtFileRef(d, references), allProperties, deployment, opts.properties ?? {}, ctx));
  const envelope: Envelope = {
    version,
    file,
    references,
    disks,
    networks,
    virtualSystems,
    producerEvidence: producerEvidence(root),
    deploymentOptions,
    productSections,
    eulas,
    warnings,
    ...(deployment !== undefined ? { deployment } : {}),
    ...(collection ? { collection } : {}),
  };
  checkReferences(envelope);
  return envelope;
}

interface Ctx {
  readonly file: string;
  readonly ovfNs: string;
  readonly warnings: string[];
}

/** A Disk before `${property}` capacities are resolved. */
interface RawDisk {
  readonly where: string;
  readonly disk: Omit<OvfDisk, 'capacityBytes'>;
  readonly capacity?: string;
  readonly units: string;
  /** oVirt's ovf:size (GiB) when ovf:capacity is absent. */
  readonly ovirtSize?: string;
}

/**
 * The value a property has for the chosen deployment: --prop, else a <Value> for that
 * configuration, else ovf:value.
 */
export function propertyValue(p: OvfProperty, deployment: string | undefined, overrides: Readonly<Record<string, string>>): string | undefined {
  if (Object.hasOwn(overrides, p.key)) return overrides[p.key];
  const perConfig = deployment !== undefined ? p.values.find((v) => v.configuration.includes(deployment)) : undefined;
  return perConfig?.value ?? p.value;
}

/** oVirt writes the File's href (IMAGE/VOLUME) in Disk ovf:fileRef; point it at the File's id. */
function ovirtFileRef(raw: RawDisk, references: readonly OvfFile[]): RawDisk {
  const ref = raw.disk.fileRef;
  if (ref === undefined || references.some((f) => f.id === ref)) return raw;
  const byHref = references.find((f) => f.href === ref);
  return byHref ? { ...raw, disk: { ...raw.disk, fileRef: byHref.id } } : raw;
}

function resolveDisk(raw: RawDisk, properties: readonly OvfProperty[], deployment: string | undefined, overrides: Readonly<Record<string, string>>, ctx: Ctx): OvfDisk {
  if (raw.capacity === undefined) {
    if (raw.ovirtSize !== undefined) return { ...raw.disk, capacityBytes: quantityToBytes(raw.ovirtSize, 1 << 30, `${raw.where}/@ovf:size`, ctx.file) };
    return { ...raw.disk };
  }
  let text = raw.capacity;
  const ref = /^\$\{([^}]+)\}$/.exec(text.trim());
  if (ref) {
    const candidates = properties.filter((p) => p.key === ref[1]);
    const prop = candidates.find((p) => deployment !== undefined && p.configuration.includes(deployment)) ?? candidates[0];
    const value = prop ? propertyValue(prop, deployment, overrides) : undefined;
    if (value === undefined) {
      throw new OvfParseError(`${ctx.file}: ${raw.where}/@ovf:capacity: "${text}" refers to no ProductSection property with a value (an unrendered template?)`, { file: ctx.file, element: `${raw.where}/@ovf:capacity` });
    }
    text = value;
  }
  const multiplier = parseAllocationUnits(raw.units, `${raw.where}/@ovf:capacityAllocationUnits`, ctx.file);
  return { ...raw.disk, capacityBytes: quantityToBytes(text, multiplier, `${raw.where}/@ovf:capacity${ref ? ` (${raw.capacity})` : ''}`, ctx.file) };
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

/** How messages name the nth section of a kind: `DiskSection`, or `DiskSection[2]` from the second on. */
function sectionLabel(name: string, n: number): string {
  return n === 1 ? name : `${name}[${n}]`;
}

/** Networks of a further NetworkSection that no earlier one named. */
function mergeNetworks(before: readonly OvfNetwork[], more: readonly OvfNetwork[]): OvfNetwork[] {
  return [...before, ...more.filter((n) => !before.some((b) => b.name === n.name))];
}

/** @throws OvfParseError when two entries (of one section or of two sections of the same kind) share an id. */
function refuseDuplicates(entries: readonly { id: string; where: string }[], what: string, idAttr: string, file: string): void {
  const seen = new Map<string, string>();
  for (const e of entries) {
    const first = seen.get(e.id);
    if (first !== undefined) throw new OvfParseError(`${file}: ${e.where} has ${idAttr}="${e.id}", which ${first} already has; each ${what} needs its own id`, { file, element: `${e.where}/@${idAttr}` });
    seen.set(e.id, e.where);
  }
}

function parseFile(f: XmlElement, index: number, section: string, ctx: Ctx): OvfFile {
  const where = `${section}/File[${index + 1}]`;
  const id = attr(f, 'id', ctx);
  const href = attr(f, 'href', ctx);
  if (!id || !href) throw new OvfParseError(`${ctx.file}: ${where} needs ovf:id and ovf:href`, { file: ctx.file, element: where });
  const size = attr(f, 'size', ctx);
  const chunk = attr(f, 'chunkSize', ctx);
  const compression = attr(f, 'compression', ctx);
  return {
    id,
    href,
    ...opt('sizeBytes', informationalSize(size, `${where}/@ovf:size`, ctx)),
    ...opt('chunkSizeBytes', chunk === undefined ? undefined : quantityToBytes(chunk, 1, `${where}/@ovf:chunkSize`, ctx.file)),
    ...opt('compression', compression === undefined || compression === 'identity' ? undefined : compression),
  };
}

/** ovf:size of a File is informational: an unreadable one is a warning, not an error. */
function informationalSize(size: string | undefined, where: string, ctx: Ctx): number | undefined {
  if (size === undefined) return undefined;
  if (/^\s*\d+\s*$/.test(size) && Number(size) <= Number.MAX_SAFE_INTEGER) return Number(size);
  ctx.warnings.push(`${where}: "${size}" is not a size in bytes; ignored`);
  return undefined;
}

function parseDisk(d: XmlElement, index: number, section: string, ctx: Ctx): RawDisk {
  const where = `${section}/Disk[${index + 1}]`;
  const diskId = attr(d, 'diskId', ctx);
  if (!diskId) throw new OvfParseError(`${ctx.file}: ${where} has no ovf:diskId`, { file: ctx.file, element: where });
  const capacity = attr(d, 'capacity', ctx);
  const units = attr(d, 'capacityAllocationUnits', ctx) ?? 'byte';
  const ovirtSize = capacity === undefined ? attr(d, 'size', ctx) : undefined;
  if (capacity === undefined && ovirtSize === undefined) ctx.warnings.push(`${where} (${diskId}) has no ovf:capacity; its virtual size is read from the file`);
  const populated = attr(d, 'populatedSize', ctx);
  const fileRef = attr(d, 'fileRef', ctx);
  const parentRef = attr(d, 'parentRef', ctx);
  const disk = {
    diskId,
    ...opt('fileRef', fileRef || undefined),
    ...opt('format', attr(d, 'format', ctx)),
    ...opt('populatedSizeBytes', populated === undefined || !/^\d+$/.test(populated) ? undefined : Number(populated)),
    ...opt('parentRef', parentRef || undefined),
  };
  return { where, disk, units, ...opt('capacity', capacity), ...opt('ovirtSize', ovirtSize) };
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
    const vboxOsType = childText(osEl, 'OSType');
    operatingSystem = {
      ...opt('id', osId !== undefined && /^\d+$/.test(osId) ? Number(osId) : undefined),
      ...opt('version', attr(osEl, 'version', ctx)),
      ...opt('description', childText(osEl, 'Description')),
      ...opt('vmwOsType', vmwOsType),
      ...opt('vboxOsType', vboxOsType),
    };
  }
  const hardware = parseHardwareSection(hardwareSections[0]!, ctx);
  const extra: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const c of el.children) if (c.children.length === 0 && c.text !== '' && !(c.local in extra)) extra[c.local] = c.text;
  const transport = attr(el, 'transport', ctx);
  const vboxFirmware = child(child(child(el, 'Machine') ?? el, 'Hardware') ?? el, 'Firmware')?.attrs.get('type');
  return {
    id,
    hardware: transport ? { ...hardware, transport: [...hardware.transport, ...transport.split(/\s+/).filter(Boolean)] } : hardware,
    productSections: parseProductSections(el, ctx),
    eulas: parseEulas(el),
    extra,
    ...opt('vboxFirmware', child(el, 'Machine') ? vboxFirmware : undefined),
    ...opt('name', childText(el, 'Name')),
    ...opt('info', childText(el, 'Info')),
    ...opt('operatingSystem', operatingSystem),
    ...opt('annotation', annotation ? childText(annotation, 'Annotation') : undefined),
  };
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
