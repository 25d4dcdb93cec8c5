// VirtualHardwareSection to Items (DSP0243 9.5; RASD, and OVF 2.0 SASD/EPASD items).
import { OvfParseError } from '../errors.js';
import type { Item, VirtualHardwareSection } from './model.js';
import { attr, child, sectionName } from '../xml/access.js';
import type { XmlElement } from '../xml/parse.js';

const ITEM_ELEMENTS = new Set(['Item', 'StorageItem', 'EthernetPortItem']);

/** vmw:Config / vmw:ExtraConfig children as key/value pairs (any vendor namespace with key/value attributes). */
function configPairs(el: XmlElement): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const c of el.children) {
    if (c.local !== 'Config' && c.local !== 'ExtraConfig') continue;
    let key: string | undefined;
    let value: string | undefined;
    for (const [name, v] of c.attrs) {
      if (name.endsWith('}key') || name === 'key') key = v;
      if (name.endsWith('}value') || name === 'value') value = v;
    }
    if (key !== undefined && value !== undefined) out[key] = value;
  }
  return out;
}

/**
 * Parses one VirtualHardwareSection.
 * @throws OvfParseError when an Item has a ResourceType that is not a number.
 */
export function parseHardwareSection(section: XmlElement, ctx: { file: string; ovfNs: string }): VirtualHardwareSection {
  const system = child(section, 'System');
  const virtualSystemTypes = system
    ? system.children.filter((c) => c.local === 'VirtualSystemType').flatMap((c) => c.text.split(/[\s,]+/).filter(Boolean))
    : [];
  const items: Item[] = [];
  let index = 0;
  for (const el of section.children) {
    const name = sectionName(el);
    if (!ITEM_ELEMENTS.has(name)) continue;
    index += 1;
    items.push(parseItem(el, name as Item['element'], index, ctx));
  }
  const transport = attr(section, 'transport', ctx);
  return { virtualSystemTypes, items, vmwConfig: configPairs(section), transport: transport ? transport.split(/\s+/).filter(Boolean) : [] };
}

function parseItem(el: XmlElement, element: Item['element'], index: number, ctx: { file: string; ovfNs: string }): Item {
  const extra: Record<string, string> = Object.create(null) as Record<string, string>;
  const hostResource: string[] = [];
  const connection: string[] = [];
  for (const c of el.children) {
    if (c.local === 'HostResource') hostResource.push(c.text);
    else if (c.local === 'Connection') connection.push(c.text);
    else if (c.local !== 'Config' && c.local !== 'ExtraConfig' && !(c.local in extra)) extra[c.local] = c.text;
  }
  const get = (...names: string[]): string | undefined => {
    for (const n of names) {
      const v = extra[n];
      if (v !== undefined && v !== '') return v;
    }
    return undefined;
  };
  const instanceId = get('InstanceID', 'InstanceId') ?? `#${index}`;
  const where = `VirtualHardwareSection/${element}[${index}] (InstanceID ${instanceId})`;
  const rt = get('ResourceType');
  if (rt !== undefined && !/^\d+$/.test(rt)) {
    throw new OvfParseError(`${ctx.file}: ${where}: ResourceType "${rt}" is not a number`, { file: ctx.file, element: `${where}/ResourceType` });
  }
  const required = attr(el, 'required', ctx);
  const configuration = attr(el, 'configuration', ctx);
  const automatic = get('AutomaticAllocation');
  // vmw:CoresPerSocket (no CIM class has a CoresPerSocket property).
  const cores = get('CoresPerSocket');
  const item: Item = {
    element,
    index,
    instanceId,
    hostResource,
    connection,
    required: required === undefined ? true : required.trim() !== 'false' && required.trim() !== '0',
    configuration: configuration ? configuration.split(/\s+/).filter(Boolean) : [],
    vmwConfig: configPairs(el),
    extra,
    ...(rt !== undefined ? { resourceType: Number(rt) } : {}),
    ...optional('resourceSubType', get('ResourceSubType')),
    ...optional('elementName', get('ElementName', 'Caption')),
    ...optional('description', get('Description')),
    ...optional('address', get('Address')),
    ...optional('addressOnParent', get('AddressOnParent')),
    ...optional('parent', get('Parent')),
    ...optional('allocationUnits', get('AllocationUnits')),
    ...optional('virtualQuantity', get('VirtualQuantity')),
    ...optional('virtualQuantityUnits', get('VirtualQuantityUnits')),
    ...optional('bound', attr(el, 'bound', ctx)),
    ...(automatic !== undefined ? { automaticAllocation: automatic.trim().toLowerCase() === 'true' } : {}),
    ...(cores !== undefined && /^\s*[1-9]\d*\s*$/.test(cores) ? { coresPerSocket: Number(cores) } : {}),
  };
  return item;
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}
