// Where export places a domain's drives, by the per-bus rules of mappings/export.json: the
// rules of a bus and libvirt's default drive address (dev names: domain/target-dev.ts).
import type { DomainDisk } from '../domain/model.js';
import { devIndex } from '../domain/target-dev.js';
import type { DomainRules } from './schema/domain.js';
import type { BusRules, ExportTable, VmdkAdapter } from './schema/export.js';

/** The storage rules of a libvirt bus: its export.json `buses` entry over `busDefaults`. */
export function busRules(table: ExportTable, bus: string): BusRules {
  return { ...table.busDefaults, ...(Object.hasOwn(table.buses, bus) ? table.buses[bus] : {}) };
}

/** The VMDK adapter of a disk on `bus`: its bus rule's vmdkAdapterType with the geometry of export.json vmdkAdapters (the schema checks it exists). */
export function vmdkAdapter(table: ExportTable, bus: string): VmdkAdapter {
  const type = busRules(table, bus).vmdkAdapterType;
  return { type, ...table.vmdkAdapters.types[type]! };
}

/** libvirt's default drive address for a disk without one (virDomainDiskDefAssignAddress), by the bus's export.json rule. */
export function driveAddress(disk: DomainDisk, table: ExportTable, targetDev: DomainRules['targetDev']): { controller: number; bus: number; target: number; unit: number } {
  if (disk.address) return disk.address;
  const n = devIndex(disk.dev, targetDev);
  const { units, next } = busRules(table, disk.bus).driveAddress;
  const step = Math.floor(n / units);
  return { controller: next === 'controller' ? step : 0, bus: next === 'bus' ? step : 0, target: 0, unit: n % units };
}
