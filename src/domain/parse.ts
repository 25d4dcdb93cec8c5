// libvirt domain XML (virDomainGetXMLDesc, inactive) to a DomainDescription, through the same
// element modules the writer uses (sections.ts). Meanings: https://libvirt.org/formatdomain.html.
import { OvfParseError } from '../errors.js';
import type { DomainRules } from '../mapping/schema/domain.js';
import { parseXml, type XmlElement } from '../xml/parse.js';
import { domainXmlError } from './element.js';
import type { DomainDescription } from './model.js';
import { DOMAIN_SECTIONS } from './sections.js';

/**
 * Parses the XML libvirt returns for a domain (virDomainGetXMLDesc, inactive definition).
 * Entities are never expanded and a DOCTYPE is refused (src/xml/parse.ts). Memory honours
 * the unit attribute (rules.read.memoryUnit, KiB, when absent); vCPUs are the <vcpu> maximum;
 * firmware is EFI for <os firmware='efi'> or an OVMF/pflash <loader>, with secure boot from
 * <firmware><feature name='secure-boot' enabled='yes'> or <loader secure='yes'>; a disk
 * without <target bus> gets the bus of its dev prefix (rules.targetDev).
 * For every domain `x` this returns, parseDomainXml(domainToXml(x, rules), rules) equals `x`.
 * @param xml the domain XML text.
 * @throws LibvirtError (virDomainGetXMLDesc, VIR_ERR_XML_ERROR) when the text is not
 *   well-formed, the root is not <domain>, <name> is missing, a <disk> has no <target dev> or
 *   an unknown device, or <memory>/<vcpu> cannot be read.
 */
export function parseDomainXml(xml: string, rules: DomainRules): DomainDescription {
  let root: XmlElement;
  try {
    root = parseXml(xml, 'domain XML');
  } catch (err) {
    throw domainXmlError(err instanceof OvfParseError ? err.message.replace(/^domain XML:?\s*/, '') : String(err), err);
  }
  if (root.local !== 'domain' || root.ns !== '') throw domainXmlError(`the root element is <${root.qname}>, not <domain>`);
  return Object.assign({}, ...DOMAIN_SECTIONS.map((s) => s.read(root, rules))) as DomainDescription;
}
