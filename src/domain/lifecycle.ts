// <clock offset> ("Time keeping") and <on_poweroff>, <on_reboot>, <on_crash> ("Events configuration"), formatdomain.html.
import { opt, plainChild } from '../xml/access.js';
import type { DomainSection } from './element.js';

export const clockSection: DomainSection<'clockOffset'> = {
  read: (root) => opt('clockOffset', plainChild(root, 'clock')?.attrs.get('offset')),
  write(dom, d) {
    if (d.clockOffset !== undefined) dom.ele('clock', { offset: d.clockOffset });
  },
};

const EVENTS = [
  ['onPoweroff', 'on_poweroff'],
  ['onReboot', 'on_reboot'],
  ['onCrash', 'on_crash'],
] as const;

export const lifecycleSection: DomainSection<'onPoweroff' | 'onReboot' | 'onCrash'> = {
  read: (root) => Object.assign({}, ...EVENTS.map(([key, element]) => opt(key, plainChild(root, element)?.text))),
  write(dom, d) {
    for (const [key, element] of EVENTS) if (d[key] !== undefined) dom.ele(element).txt(d[key]);
  },
};
