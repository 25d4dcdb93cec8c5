// DomainDescription to libvirt domain XML (https://libvirt.org/formatdomain.html), written with xmlbuilder2.
import { create } from 'xmlbuilder2';
import type { DomainRules } from '../mapping/schema/domain.js';
import { serializeXml } from '../xml/write.js';
import { domainDefaults } from './defaults.js';
import type { DomainDescription, ImportMetadata } from './model.js';
import { DOMAIN_SECTIONS } from './sections.js';

/**
 * Writes the domain XML: the domain with its unset defaults filled from `rules`
 * (domainDefaults), each part written by its module (sections.ts). Memory is written in KiB;
 * firmware uses libvirt's automatic selection (`<os firmware='efi'>`, with
 * `<feature enabled='yes' name='secure-boot'/>` when asked).
 * @param meta provenance for <metadata><virt-ovf:import>; overrides domain.importMetadata.
 * @returns the XML text, without declaration, pretty-printed, ending in a newline.
 */
export function domainToXml(domain: DomainDescription, rules: DomainRules, meta?: ImportMetadata): string {
  const d = domainDefaults(meta ? { ...domain, importMetadata: meta } : domain, rules);
  const doc = create({ version: '1.0' });
  const dom = doc.ele('domain', d.type !== undefined ? { type: d.type } : {});
  for (const section of DOMAIN_SECTIONS) section.write(dom, d, rules);
  return serializeXml(doc, { prettyPrint: true, headless: true }) + '\n';
}
