// Small accessors over XmlElement: OVF attributes across the producers' namespace dialects, children by local name.
import type { XmlElement } from './parse.js';

/** XML Schema instance namespace (xsi:type on OVF 0.9 and oVirt sections). */
export const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

const OVF_NAMESPACES = [
  'http://schemas.dmtf.org/ovf/envelope/1',
  'http://schemas.dmtf.org/ovf/envelope/1/',
  'http://schemas.dmtf.org/ovf/envelope/2',
  'http://www.vmware.com/schema/ovf/1/envelope',
];

/**
 * An OVF attribute by local name: `ovf:NAME` in the document's envelope namespace or any
 * other OVF envelope namespace, else the unqualified `NAME` (oVirt and hand-written files).
 */
export function attr(el: XmlElement, local: string, ctx: { ovfNs: string }): string | undefined {
  return (
    el.attrs.get(`{${ctx.ovfNs}}${local}`) ??
    OVF_NAMESPACES.map((ns) => el.attrs.get(`{${ns}}${local}`)).find((v) => v !== undefined) ??
    el.attrs.get(local)
  );
}

/** The section kind of an element: its local name, or for `Section`/`Content` its xsi:type without prefix and `_Type`. */
export function sectionName(el: XmlElement): string {
  if (el.local !== 'Section' && el.local !== 'Content') return el.local;
  const type = el.attrs.get(`{${XSI_NS}}type`);
  if (type === undefined) return el.local;
  return type.slice(type.indexOf(':') + 1).replace(/_Type$/, '');
}

/** Child elements with the given local name (any namespace). */
export function children(el: XmlElement, local: string): XmlElement[] {
  return el.children.filter((c) => c.local === local);
}

/** First child element with the given local name. */
export function child(el: XmlElement, local: string): XmlElement | undefined {
  return el.children.find((c) => c.local === local);
}

/** Text of the first child with the given local name, or undefined when absent or empty. */
export function childText(el: XmlElement, local: string): string | undefined {
  const text = child(el, local)?.text;
  return text === undefined || text === '' ? undefined : text;
}

/** Child elements in no namespace with the given local name (libvirt XML); none when `el` is undefined. */
export function plainChildren(el: XmlElement | undefined, local: string): XmlElement[] {
  return el ? el.children.filter((c) => c.local === local && c.ns === '') : [];
}

/** First child element in no namespace with the given local name. */
export function plainChild(el: XmlElement | undefined, local: string): XmlElement | undefined {
  return plainChildren(el, local)[0];
}

/** A non-negative decimal integer (surrounding blanks allowed), or undefined for anything else. */
export function intText(text: string | undefined): number | undefined {
  return text !== undefined && /^\s*\d+\s*$/.test(text) ? Number(text) : undefined;
}

/** `{ [key]: value }` when value is defined (and not ''), else `{}`: for spreading optional fields read from XML into a record. */
export function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined || value === '' ? {} : { [key]: value }) as { [P in K]?: V };
}
