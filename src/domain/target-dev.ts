// <target dev> names (hda, sdb, vdc, ...): the prefix of a bus, the index of a name, the bus of a
// name, all from mappings/domain.json targetDev (the kernel's naming, which libvirt follows).
import type { DomainRules } from '../mapping/schema/domain.js';

type TargetDevRules = DomainRules['targetDev'];

/** The dev prefix written for a bus (ide hd, scsi/sata/usb sd, virtio vd, ...). @throws RangeError for a bus the table does not name. */
export function devPrefix(bus: string, rules: TargetDevRules): string {
  const prefix = Object.hasOwn(rules.prefixByBus, bus) ? rules.prefixByBus[bus] : undefined;
  if (prefix === undefined) throw new RangeError(`no <target dev> prefix for bus "${bus}" in domain.json targetDev.prefixByBus`);
  return prefix;
}

/** The name of the `n`-th (0-based) device with this prefix: sda, sdb, ... sdz, sdaa. */
export function devName(prefix: string, n: number): string {
  let name = '';
  let i = n;
  do {
    name = String.fromCharCode(97 + (i % 26)) + name;
    i = Math.floor(i / 26) - 1;
  } while (i >= 0);
  return prefix + name;
}

/** Known prefixes, longest first, so that xvd wins over vd. */
function prefixes(rules: TargetDevRules): string[] {
  return [...new Set([...Object.values(rules.prefixByBus), ...Object.keys(rules.busByPrefix)])].sort((a, b) => b.length - a.length);
}

/** Index of a dev name (sda 0, sdb 1, sdaa 26, vdc 2), the inverse of devName. */
export function devIndex(dev: string, rules: TargetDevRules): number {
  const prefix = prefixes(rules).find((p) => dev.startsWith(p) && /^[a-z]/.test(dev.slice(p.length))) ?? '';
  const letters = /^([a-z]+)/.exec(dev.slice(prefix.length))?.[1] ?? 'a';
  return [...letters].reduce((n, c) => n * 26 + c.charCodeAt(0) - 96, 0) - 1;
}

/** libvirt's bus for a <target dev> without bus: by prefix (hd ide, vd virtio, ...), else busOtherwise (scsi). */
export function busFromDev(dev: string, rules: TargetDevRules): string {
  const prefix = Object.keys(rules.busByPrefix)
    .sort((a, b) => b.length - a.length)
    .find((p) => dev.startsWith(p));
  return prefix !== undefined ? rules.busByPrefix[prefix]! : rules.busOtherwise;
}
