// Namespace-aware XML reading on top of fast-xml-parser (entities off, DOCTYPE refused), shared by the OVF and domain readers.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { OvfParseError } from '../errors.js';

/** One element with its namespace resolved (Namespaces in XML 1.0, section 6). */
export interface XmlElement {
  /** Namespace URI, '' when the element is in no namespace. */
  readonly ns: string;
  /** Local name, without prefix. */
  readonly local: string;
  /** The name as written (prefix:local), for error messages. */
  readonly qname: string;
  /** Attributes keyed by `{nsURI}local` (or `local` when unqualified). */
  readonly attrs: ReadonlyMap<string, string>;
  readonly children: readonly XmlElement[];
  /** Concatenated, trimmed character data directly inside this element. */
  readonly text: string;
}

/** Nesting depth beyond which a document is refused (OVF needs about ten). */
const MAX_DEPTH = 64;

/** Markup count beyond which a document is refused before parsing (the largest real descriptors have a few thousand). */
const MAX_MARKUP = 200_000;

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** XML 1.0 Char production: tab, LF, CR, and the ranges below. */
function isXmlChar(code: number): boolean {
  return code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
}

/** Characters XML 1.0 forbids anywhere in a document (C0 controls, surrogates, U+FFFE/FFFF). */
const FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Decodes the five predefined entities and character references; any other entity is an error. */
function decodeText(raw: string, file: string, where: string): string {
  if (!raw.includes('&')) return raw;
  return raw.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z_][\w.-]*);|&/g, (match, ref: string | undefined) => {
    if (ref === undefined) throw new OvfParseError(`${file}: stray '&' in ${where}`, { file, element: where });
    if (ref.startsWith('#')) {
      const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (!isXmlChar(code)) throw new OvfParseError(`${file}: invalid character reference ${match} in ${where}`, { file, element: where });
      return String.fromCodePoint(code);
    }
    const value = PREDEFINED[ref];
    if (value === undefined) {
      throw new OvfParseError(`${file}: entity ${match} in ${where} is not defined (entities are never expanded)`, { file, element: where });
    }
    return value;
  });
}

/**
 * Decodes descriptor bytes to text: UTF-16 only when the bytes carry a UTF-16 byte-order
 * mark, else UTF-8 with any BOM removed. A declared `encoding="utf-16"` on a file that is
 * really UTF-8 (XenServer does this) is therefore read correctly.
 */
export function decodeXmlBytes(bytes: Buffer): string {
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes.subarray(2));
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes.subarray(2));
  const start = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(start));
}

type RawNode = Record<string, unknown>;

/**
 * Parses an XML document into a namespace-resolved element tree.
 * Refuses any DOCTYPE (so no entity, internal or external, is ever declared or resolved)
 * and documents nested deeper than 64 elements.
 * @throws OvfParseError naming `file`, with line and column when the XML is not well-formed.
 */
export function parseXml(text: string, file: string): XmlElement {
  const doctype = /<!DOCTYPE/i.exec(text);
  if (doctype) {
    const line = text.slice(0, doctype.index).split('\n').length;
    throw new OvfParseError(`${file}:${line}: a DOCTYPE declaration is not allowed in an OVF descriptor (entities are never resolved)`, { file, element: '!DOCTYPE' });
  }
  let markup = 0;
  for (let i = text.indexOf('<'); i !== -1; i = text.indexOf('<', i + 1)) {
    if (++markup > MAX_MARKUP) throw new OvfParseError(`${file}: more than ${MAX_MARKUP} elements; refused before parsing (real descriptors have a few thousand)`, { file });
  }
  const bad = FORBIDDEN.exec(text);
  if (bad) {
    const line = text.slice(0, bad.index).split('\n').length;
    throw new OvfParseError(`${file}:${line}: character U+${bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')} is not allowed in XML`, { file });
  }
  const valid = XMLValidator.validate(text, { allowBooleanAttributes: false });
  if (valid !== true) {
    const { msg, line, col } = valid.err;
    throw new OvfParseError(`${file}:${line}:${col}: not well-formed XML: ${msg}`, { file });
  }
  const parser = new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseTagValue: false,
    parseAttributeValue: false,
    processEntities: false,
    htmlEntities: false,
    trimValues: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    cdataPropName: '#cdata',
    maxNestedTags: MAX_DEPTH,
  });
  let raw: RawNode[];
  try {
    raw = parser.parse(text) as RawNode[];
  } catch (err) {
    throw new OvfParseError(`${file}: cannot parse XML: ${(err as Error).message}`, { file, cause: err });
  }
  const roots = raw.filter((node) => elementName(node) !== undefined);
  if (roots.length !== 1) throw new OvfParseError(`${file}: expected one root element, found ${roots.length}`, { file });
  return build(roots[0]!, new Map([['xml', 'http://www.w3.org/XML/1998/namespace']]), file, 0);
}

function elementName(node: RawNode): string | undefined {
  return Object.keys(node).find((key) => key !== ':@' && key !== '#text' && key !== '#cdata');
}

function build(node: RawNode, scope: ReadonlyMap<string, string>, file: string, depth: number): XmlElement {
  const qname = elementName(node)!;
  if (depth > MAX_DEPTH) throw new OvfParseError(`${file}: elements nested deeper than ${MAX_DEPTH} levels`, { file, element: qname });
  const rawAttrs = (node[':@'] ?? {}) as Record<string, string>;
  const local = new Map(scope);
  for (const [name, value] of Object.entries(rawAttrs)) {
    if (name === 'xmlns') local.set('', value);
    else if (name.startsWith('xmlns:')) local.set(name.slice(6), value);
  }
  const attrs = new Map<string, string>();
  for (const [name, value] of Object.entries(rawAttrs)) {
    if (name === 'xmlns' || name.startsWith('xmlns:')) continue;
    const colon = name.indexOf(':');
    const decoded = decodeText(String(value), file, `${qname}/@${name}`);
    if (colon < 0) attrs.set(name, decoded);
    else {
      const uri = local.get(name.slice(0, colon));
      if (uri === undefined) throw new OvfParseError(`${file}: undeclared namespace prefix in attribute ${qname}/@${name}`, { file, element: `${qname}/@${name}` });
      attrs.set(`{${uri}}${name.slice(colon + 1)}`, decoded);
    }
  }
  const colon = qname.indexOf(':');
  const prefix = colon < 0 ? '' : qname.slice(0, colon);
  const ns = local.get(prefix);
  if (ns === undefined && prefix !== '') throw new OvfParseError(`${file}: undeclared namespace prefix in element <${qname}>`, { file, element: qname });
  const children: XmlElement[] = [];
  let text = '';
  for (const child of (node[qname] ?? []) as RawNode[]) {
    if ('#text' in child) text += decodeText(String(child['#text']), file, qname);
    else if ('#cdata' in child) text += ((child['#cdata'] ?? []) as RawNode[]).map((c) => String(c['#text'] ?? '')).join('');
    else if (elementName(child) !== undefined) children.push(build(child, local, file, depth + 1));
  }
  return { ns: ns ?? '', local: colon < 0 ? qname : qname.slice(colon + 1), qname, attrs, children, text: text.trim() };
}
