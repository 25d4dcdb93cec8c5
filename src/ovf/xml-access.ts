// Small accessors over XmlElement that tolerate the producers' namespace dialects.
import type { XmlElement } from './xml.js';

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
