// <interface type> with mac, source and model ("Network interfaces", formatdomain.html).
import type { DomainRules } from '../mapping/schema/domain.js';
import { opt, plainChild } from '../xml/access.js';
import type { DomainElement } from './element.js';
import type { DomainInterface } from './model.js';

/** The <source> attribute naming where an interface of this type attaches (network, bridge, dev). */
function sourceAttribute(type: string, rules: DomainRules): string {
  const byType = rules.interfaceSource.byType;
  return Object.hasOwn(byType, type) ? byType[type]! : rules.interfaceSource.otherwise;
}

export const interfaceElement: DomainElement<DomainInterface> = {
  element: 'interface',
  read(el, rules) {
    const type = el.attrs.get('type') ?? rules.read.interfaceType;
    const src = plainChild(el, 'source');
    const source = src?.attrs.get(sourceAttribute(type, rules)) ?? Object.values(rules.interfaceSource.byType).map((a) => src?.attrs.get(a)).find((v) => v !== undefined);
    return { type, ...opt('source', source), ...opt('model', plainChild(el, 'model')?.attrs.get('type')), ...opt('mac', plainChild(el, 'mac')?.attrs.get('address')?.toLowerCase()) };
  },
  write(devices, nic, rules) {
    const el = devices.ele('interface', { type: nic.type });
    if (nic.mac) el.ele('mac', { address: nic.mac });
    if (nic.source !== undefined) el.ele('source', { [sourceAttribute(nic.type, rules)]: nic.source });
    if (nic.model !== undefined) el.ele('model', { type: nic.model });
  },
};
