// <features> ("Hypervisor features") and <cpu mode><topology> ("CPU model and topology"), formatdomain.html.
import { intText, opt, plainChild } from '../xml/access.js';
import { definedAttrs } from '../xml/write.js';
import type { DomainSection } from './element.js';
import type { DomainFeature } from './model.js';

/** Each <features> child as name and state (hyperv and kvm sub-elements are not kept); written only when set. */
export const featuresSection: DomainSection<'features'> = {
  read(root) {
    const features = plainChild(root, 'features');
    return opt('features', features?.children.filter((c) => c.ns === '').map((c): DomainFeature => ({ name: c.local, ...opt('state', c.attrs.get('state')) })));
  },
  write(dom, d) {
    if (!d.features) return;
    const features = dom.ele('features');
    for (const f of d.features) features.ele(f.name, definedAttrs({ state: f.state }));
  },
};

/** <cpu> is always written (empty without mode and topology); dies defaults to the rules' topologyDies. */
export const cpuSection: DomainSection<'cpuMode' | 'topology'> = {
  read(root) {
    const cpu = plainChild(root, 'cpu');
    const topo = plainChild(cpu, 'topology');
    const t = (n: string): number => intText(topo?.attrs.get(n)) ?? 1;
    return { ...opt('cpuMode', cpu?.attrs.get('mode')), ...opt('topology', topo ? { sockets: t('sockets'), dies: t('dies'), cores: t('cores'), threads: t('threads') } : undefined) };
  },
  write(dom, d, rules) {
    const cpu = dom.ele('cpu', definedAttrs({ mode: d.cpuMode }));
    const t = d.topology;
    if (t) cpu.ele('topology', { sockets: t.sockets, dies: t.dies ?? rules.defaults.topologyDies, cores: t.cores, threads: t.threads });
  },
};
