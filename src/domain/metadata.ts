// <metadata>: the libosinfo id as virt-install records it, and virt-ovf's import provenance
// with the package's ProductSections and OVF environment ("General metadata", formatdomain.html).
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import type { OvfProperty, ProductSection } from '../ovf/model.js';
import type { ResolvedProperty } from '../ovf/properties.js';
import { opt } from '../xml/access.js';
import type { XmlElement } from '../xml/parse.js';
import { definedAttrs } from '../xml/write.js';
import type { DomainSection } from './element.js';
import type { DomainDiskSource, ImportMetadata, OvfEnvironmentRecord } from './model.js';

/** libosinfo metadata namespace, as virt-install writes it. */
export const LIBOSINFO_NS = 'http://libosinfo.org/xmlns/libvirt/domain/1.0';
/** virt-ovf's own metadata namespace (source package, profile, ProductSections, OVF environment). */
export const VIRT_OVF_NS = 'https://virt-ovf.org/xmlns/domain/1.0';

const own = (el: XmlElement | undefined, local: string): XmlElement[] => el?.children.filter((c) => c.ns === VIRT_OVF_NS && c.local === local) ?? [];

/**
 * The ProductSections import records (ImportMetadata.productSections): every property of
 * `sections` that `inForce` lists (those of the deployment option in force), with the value in
 * force; a password's value is left out (the domain XML is readable by every client of the
 * connection, read-only ones included), as are per-configuration values.
 */
export function productSectionsInForce(sections: readonly ProductSection[], inForce: readonly ResolvedProperty[]): ProductSection[] {
  const byKey = new Map(inForce.map((p) => [p.key, p]));
  return sections.map((s) => ({
    ...s,
    properties: s.properties.flatMap((p): OvfProperty[] => {
      const r = byKey.get(p.key);
      if (!r) return [];
      const { value: _default, ...rest } = p;
      return [{ ...rest, configuration: [], values: [], ...(r.value !== undefined && !p.password ? { value: r.value } : {}) }];
    }),
  }));
}

/** <virt-ovf:environment transport dev pool volume|file|block>: the transports and the ovf-env.xml CD-ROM. */
function readEnvironment(el: XmlElement | undefined): OvfEnvironmentRecord | undefined {
  if (!el) return undefined;
  const a = (n: string): string | undefined => el.attrs.get(n) || undefined;
  const source: DomainDiskSource | undefined =
    a('pool') && a('volume') ? { type: 'volume', pool: a('pool')!, volume: a('volume')! } : a('file') ? { type: 'file', path: a('file')! } : a('block') ? { type: 'block', dev: a('block')! } : undefined;
  const dev = a('dev');
  return { transport: (a('transport') ?? '').split(/\s+/).filter(Boolean), ...(dev && source ? { cdrom: { dev, source } } : {}) };
}

function writeEnvironment(parent: XMLBuilder, e: OvfEnvironmentRecord): void {
  const s = e.cdrom?.source;
  const where = s?.type === 'volume' ? { pool: s.pool, volume: s.volume } : s?.type === 'file' ? { file: s.path } : s?.type === 'block' ? { block: s.dev } : {};
  parent.ele(VIRT_OVF_NS, 'virt-ovf:environment', definedAttrs({ transport: e.transport.length > 0 ? e.transport.join(' ') : undefined, ...(e.cdrom ? { dev: e.cdrom.dev, ...where } : {}) }));
}

/** <virt-ovf:product class instance product vendor version> with a <virt-ovf:property> per property. */
function readProduct(el: XmlElement): ProductSection {
  const a = (e: XmlElement, n: string): string | undefined => e.attrs.get(n);
  const properties = own(el, 'property').map((p): OvfProperty => {
    const value = a(p, 'value');
    return {
      key: a(p, 'key') ?? '',
      type: a(p, 'type') ?? 'string',
      password: a(p, 'password') === 'true',
      userConfigurable: a(p, 'user-configurable') === 'true',
      configuration: [],
      values: [],
      // An empty value is a value (opt() would drop it).
      ...(value !== undefined ? { value } : {}),
      ...opt('qualifiers', a(p, 'qualifiers')),
      ...opt('label', a(p, 'label')),
      ...opt('description', a(p, 'description')),
      ...opt('category', a(p, 'category')),
    };
  });
  return { properties, ...opt('class', a(el, 'class')), ...opt('instance', a(el, 'instance')), ...opt('product', a(el, 'product')), ...opt('vendor', a(el, 'vendor')), ...opt('version', a(el, 'version')) };
}

function writeProduct(parent: XMLBuilder, s: ProductSection): void {
  const el = parent.ele(VIRT_OVF_NS, 'virt-ovf:product', definedAttrs({ class: s.class, instance: s.instance, product: s.product, vendor: s.vendor, version: s.version }));
  for (const p of s.properties) {
    el.ele(
      VIRT_OVF_NS,
      'virt-ovf:property',
      definedAttrs({
        key: p.key,
        type: p.type,
        value: p.value,
        qualifiers: p.qualifiers,
        label: p.label,
        description: p.description,
        category: p.category,
        'user-configurable': p.userConfigurable ? 'true' : undefined,
        password: p.password ? 'true' : undefined,
      }),
    );
  }
}

export const metadataSection: DomainSection<'osinfo' | 'importMetadata'> = {
  read(root) {
    const md = root?.children.find((c) => c.ns === '' && c.local === 'metadata');
    const osinfo = md?.children.find((c) => c.ns === LIBOSINFO_NS && c.local === 'libosinfo')?.children.find((c) => c.ns === LIBOSINFO_NS && c.local === 'os')?.attrs.get('id');
    const imp = own(md, 'import')[0];
    const source = imp?.attrs.get('source');
    const products = own(imp, 'product').map(readProduct);
    const environment = readEnvironment(own(imp, 'environment')[0]);
    const importMetadata: ImportMetadata | undefined =
      imp && source !== undefined
        ? { source, virtualSystem: imp.attrs.get('virtual-system') ?? '', profile: imp.attrs.get('profile') ?? '', ...(products.length > 0 ? { productSections: products } : {}), ...opt('environment', environment) }
        : undefined;
    return { ...opt('osinfo', osinfo), ...opt('importMetadata', importMetadata) };
  },
  write(dom, d) {
    if (!d.osinfo && !d.importMetadata) return;
    const md = dom.ele('metadata');
    if (d.osinfo) md.ele(LIBOSINFO_NS, 'libosinfo:libosinfo').ele(LIBOSINFO_NS, 'libosinfo:os', { id: d.osinfo });
    const m = d.importMetadata;
    if (!m) return;
    const imp = md.ele(VIRT_OVF_NS, 'virt-ovf:import', { source: m.source, 'virtual-system': m.virtualSystem, profile: m.profile });
    if (m.environment) writeEnvironment(imp, m.environment);
    for (const s of m.productSections ?? []) writeProduct(imp, s);
  },
};
