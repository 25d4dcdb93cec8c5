// XML writing helpers shared by every XML virt-ovf writes (xmlbuilder2 does the serialising).
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';

/** Replaces characters XML 1.0 cannot carry (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/FFFF) with U+FFFD. */
export function xmlSafe(text: string): string {
  return text.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/** The attributes of `attrs` whose value is defined, in their order, as strings (for xmlbuilder2's ele()). */
export function definedAttrs(attrs: Readonly<Record<string, string | number | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(attrs)) if (value !== undefined) out[name] = String(value);
  return out;
}


/** What serializeXml passes on to xmlbuilder2's end(). */
export interface SerializeOptions {
  readonly prettyPrint?: boolean;
  /** Leave out the XML declaration. */
  readonly headless?: boolean;
}

/** The DOM nodes serializeXml walks (xmlbuilder2's @oozcitak/dom implements them). */
interface DomNode {
  readonly nodeType: number;
  readonly childNodes: Iterable<DomNode>;
  readonly attributes?: Iterable<{ value: string }>;
  data?: string;
}

const ELEMENT_NODE = 1;
const TEXT_NODE = 3;

/** An attribute value as written: '&' as &amp;, tab, LF and CR as character references. */
function attributeMarkup(value: string): string {
  return xmlSafe(value).replace(/&/g, '&amp;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;');
}

/** Character data as written: '&' as &amp;, CR as a character reference. */
function textMarkup(value: string): string {
  return xmlSafe(value).replace(/&/g, '&amp;').replace(/\r/g, '&#13;');
}

function escapeValues(node: DomNode): void {
  if (node.nodeType === TEXT_NODE && node.data !== undefined) node.data = textMarkup(node.data);
  if (node.nodeType === ELEMENT_NODE) for (const attr of node.attributes ?? []) attr.value = attributeMarkup(attr.value);
  for (const child of node.childNodes) escapeValues(child);
}

/**
 * Serialises the whole document `builder` belongs to so that every attribute value and text
 * reads back exactly as given to the builder: characters XML 1.0 cannot carry become U+FFFD
 * (xmlSafe); in attribute values tab, LF and CR are written as `&#9;` `&#10;` `&#13;` (a parser
 * would otherwise turn them into spaces, XML 1.0 section 3.3.3), in text CR as `&#13;` (section
 * 2.11 would turn it into LF); and '&' is always written as `&amp;` (xmlbuilder2 4 leaves an
 * '&' that starts something entity-like, such as `&lt;` or `&#10;`, as it is, so a value
 * holding one would read back decoded). The library still escapes `<`, `>` and `"`.
 * Rewrites the document's values in place: serialise a document once, as the last step.
 */
export function serializeXml(builder: XMLBuilder, options: SerializeOptions = {}): string {
  const doc = builder.doc();
  escapeValues(doc.node as unknown as DomNode);
  return doc.end({ ...options });
}
