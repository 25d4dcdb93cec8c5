// The OVF environment document (DSP8027 ovf-env.xml) that appliances read at first boot.
import { create } from 'xmlbuilder2';
import { serializeXml } from '../xml/write.js';
import type { ResolvedProperty } from './properties.js';

/** OVF environment namespace (DSP8027 1.x). */
export const OVF_ENV_NS = 'http://schemas.dmtf.org/ovf/environment/1';
/** VMware's extension namespace for the EthernetAdapterSection, which appliances also read. */
export const VMW_ENV_NS = 'http://www.vmware.com/schema/ovfenv';

/**
 * Writes ovf-env.xml for one VirtualSystem: a PlatformSection naming virt-ovf and libvirt,
 * a PropertySection with every property that has a value (passwords included: the document
 * is for the guest), and VMware's EthernetAdapterSection with each NIC's MAC and OVF network.
 * Values read back exactly (newline and tab as character references, see serializeXml); control
 * characters never reach here (resolveProperties refuses them).
 */
export function ovfEnvironmentXml(opts: {
  virtualSystemId: string;
  properties: readonly ResolvedProperty[];
  nics: readonly { mac?: string; ovfNetwork?: string }[];
  platformVersion: string;
}): string {
  const doc = create({ version: '1.0', encoding: 'UTF-8' });
  const env = doc.ele(OVF_ENV_NS, 'Environment', {
    xmlns: OVF_ENV_NS,
    'xmlns:oe': OVF_ENV_NS,
    'xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
    'xmlns:ve': VMW_ENV_NS,
    'oe:id': opts.virtualSystemId,
  });
  const platform = env.ele(OVF_ENV_NS, 'PlatformSection');
  platform.ele(OVF_ENV_NS, 'Kind').txt('libvirt (virt-ovf)');
  platform.ele(OVF_ENV_NS, 'Version').txt(opts.platformVersion);
  platform.ele(OVF_ENV_NS, 'Vendor').txt('virt-ovf');
  platform.ele(OVF_ENV_NS, 'Locale').txt('en');
  const section = env.ele(OVF_ENV_NS, 'PropertySection');
  for (const p of opts.properties) {
    if (p.value !== undefined) section.ele(OVF_ENV_NS, 'Property', { 'oe:key': p.key, 'oe:value': p.value });
  }
  const adapters = env.ele(VMW_ENV_NS, 've:EthernetAdapterSection');
  for (const nic of opts.nics) {
    if (nic.mac) adapters.ele(VMW_ENV_NS, 've:Adapter', { 've:mac': nic.mac, 've:network': nic.ovfNetwork ?? '' });
  }
  return serializeXml(doc, { prettyPrint: true }) + '\n';
}
