// <metadata>: the libosinfo id as virt-install records it, and virt-ovf's import provenance
// ("General metadata", formatdomain.html).
import { opt } from '../xml/access.js';
import type { DomainSection } from './element.js';
import type { ImportMetadata } from './model.js';

/** libosinfo metadata namespace, as virt-install writes it. */
export const LIBOSINFO_NS = 'http://libosinfo.org/xmlns/libvirt/domain/1.0';
/** virt-ovf's own metadata namespace (source package, profile). */
export const VIRT_OVF_NS = 'https://virt-ovf.org/xmlns/domain/1.0';

export const metadataSection: DomainSection<'osinfo' | 'importMetadata'> = {
  read(root) {
    const md = root?.children.find((c) => c.ns === '' && c.local === 'metadata');
    const osinfo = md?.children.find((c) => c.ns === LIBOSINFO_NS && c.local === 'libosinfo')?.children.find((c) => c.ns === LIBOSINFO_NS && c.local === 'os')?.attrs.get('id');
    const imp = md?.children.find((c) => c.ns === VIRT_OVF_NS && c.local === 'import');
    const source = imp?.attrs.get('source');
    const importMetadata: ImportMetadata | undefined =
      imp && source !== undefined ? { source, virtualSystem: imp.attrs.get('virtual-system') ?? '', profile: imp.attrs.get('profile') ?? '' } : undefined;
    return { ...opt('osinfo', osinfo), ...opt('importMetadata', importMetadata) };
  },
  write(dom, d) {
    if (!d.osinfo && !d.importMetadata) return;
    const md = dom.ele('metadata');
    if (d.osinfo) md.ele(LIBOSINFO_NS, 'libosinfo:libosinfo').ele(LIBOSINFO_NS, 'libosinfo:os', { id: d.osinfo });
    const m = d.importMetadata;
    if (m) md.ele(VIRT_OVF_NS, 'virt-ovf:import', { source: m.source, 'virtual-system': m.virtualSystem, profile: m.profile });
  },
};
