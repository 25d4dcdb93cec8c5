// The producer of a descriptor, from what it writes: namespaces, VirtualSystemTypes, dialect quirks.
import type { VirtualSystem } from './model.js';
import type { XmlElement } from '../xml/parse.js';

/**
 * Names the tool that most likely wrote the descriptor (VirtualBox, oVirt, Ganeti, XenServer,
 * VMware, else generic), for reports and the few dialect rules that depend on it (oVirt's OS ids).
 */
export function detectProducer(root: XmlElement, systems: readonly VirtualSystem[]): string {
  const uris = new Set<string>();
  const walk = (el: XmlElement, depth: number): void => {
    uris.add(el.ns);
    for (const key of el.attrs.keys()) if (key.startsWith('{')) uris.add(key.slice(1, key.indexOf('}')));
    if (depth < 3) el.children.forEach((c) => walk(c, depth + 1));
  };
  walk(root, 0);
  const types = systems.flatMap((s) => s.hardware.virtualSystemTypes).join(' ');
  // Ganeti writes its own GanetiSection and VirtualBox's system type: its namespace decides first.
  if ([...uris].some((u) => u.includes('ganeti'))) return 'Ganeti';
  if ([...uris].some((u) => u.includes('virtualbox.org')) || /virtualbox/i.test(types)) return 'VirtualBox';
  // oVirt (and virt-v2v's oVirt output) write the envelope namespace with a trailing slash.
  if (/ENGINE|RHEVM|ovirt/i.test(types) || [...uris].some((u) => u.includes('ovirt')) || root.ns.endsWith('/envelope/1/')) return 'oVirt';
  if ([...uris].some((u) => u.includes('citrix') || u.includes('xen'))) return 'XenServer';
  if (/vmx-/i.test(types) || [...uris].some((u) => u.includes('vmware.com'))) return 'VMware';
  return 'generic';
}
