// Where export places a domain's drives, by the per-bus rules of mappings/export.json: the
// rules of a bus, the index of a target dev name, libvirt's default drive address.
import type { DomainDisk } from '../domain/parse.js';
import type { BusRules, ExportTable } from './schema/export.js';

/** The storage rules of a libvirt bus: its export.json `buses` entry over `busDefaults`. */
export function busRules(table: ExportTable, bus: string): BusRules {
  return { ...table.busDefaults, ...(Object.hasOwn(table.buses, bus) ? table.buses[bus] : {}) };
}

/** Index of a target dev name (sda 0, sdb 1, sdaa 26, vdc 2), as the kernel and libvirt count; `prefixes` from export.json. */
export function devIndex(dev: string, prefixes: readonly string[]): number {
  const prefix = prefixes.filter((p) => dev.startsWith(p) && /^[a-z]/.test(dev.slice(p.length))).sort((a, b) => b.length - a.length)[0] ?? '';
  const letters = /^([a-z]+)/.exec(dev.slice(prefix.length))?.[1] ?? 'a';
  return [...letters].reduce((n, c) => n * 26 + c.charCodeAt(0) - 96, 0) - 1;
}

/** libvirt's default drive address for a disk without one (virDomainDiskDefAssignAddress), by the bus's export.json rule. */
export function driveAddress(disk: DomainDisk, table: ExportTable): { controller: number; bus: number; target: number; unit: number } {
  if (disk.address) return disk.address;
  const n = devIndex(disk.dev, table.targetDevPrefixes);
  const { units, next } = busRules(table, disk.bus).driveAddress;
  const step = Math.floor(n / units);
  return { controller: next === 'controller' ? step : 0, bus: next === 'bus' ? step : 0, target: 0, unit: n % units };
}
