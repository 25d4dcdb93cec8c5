// Finds the mapping row for a RASD Item: ResourceType, ResourceSubType tokens, VirtualSystemType.
import type { Item } from '../ovf/model.js';
import { traceMatch } from '../trace.js';
import type { MappingRow } from './load.js';

function subTypeMatches(pattern: string, token: string): boolean {
  const p = pattern.toLowerCase();
  const t = token.toLowerCase();
  if (p === '*') return true;
  return p.endsWith('*') ? t.startsWith(p.slice(0, -1)) : p === t;
}

function extraMatches(wanted: Readonly<Record<string, string>> | undefined, item: Item): boolean {
  if (!wanted) return true;
  return Object.entries(wanted).every(([name, value]) => {
    const actual = item.extra[name];
    return actual !== undefined && (value === '*' || actual.toLowerCase() === value.toLowerCase());
  });
}

/**
 * Picks the matching row from the first of `tables` (in order) that has one.
 * A ResourceSubType may list several names ("buslogic lsilogic", "VMXNET3 virtio"): the
 * earliest name that some row names wins; rows without `subTypes` match any item of their
 * ResourceType but only after every named match failed. A row with `subTypes: ["*"]` also
 * matches an item without subtype.
 * Each lookup is published for -v (trace.ts, traceMatch).
 * @returns the row and the table it came from, or undefined when nothing matches.
 */
export function matchRow(
  item: Item,
  tables: readonly { name: string; rows: readonly MappingRow[] }[],
  virtualSystemTypes: readonly string[],
): { row: MappingRow; table: string } | undefined {
  const hit = findRow(item, tables, virtualSystemTypes);
  traceMatch({ item, ...(hit ? { row: `${hit.table}:${hit.row.id}` } : {}) });
  return hit;
}

function findRow(item: Item, tables: readonly { name: string; rows: readonly MappingRow[] }[], virtualSystemTypes: readonly string[]): { row: MappingRow; table: string } | undefined {
  if (item.resourceType === undefined) return undefined;
  // (rows are also filtered by their `extra` child-element conditions)
  const systemTypes = virtualSystemTypes.join(' ');
  const whole = item.resourceSubType?.trim() ?? '';
  const tokens = whole.split(/\s+/).filter(Boolean);
  for (const table of tables) {
    const rows = table.rows
      .filter((row) => row.resourceTypes.includes(item.resourceType!))
      .filter((row) => row.systemTypes === undefined || new RegExp(row.systemTypes, 'i').test(systemTypes))
      .filter((row) => extraMatches(row.extra, item));
    // Whole-value match first, so subtypes with spaces ("Virtual Hard Disk Image") are found.
    const row =
      (whole ? rows.find((r) => r.subTypes?.some((p) => p !== '*' && subTypeMatches(p, whole))) : undefined) ??
      tokens.map((t) => rows.find((r) => r.subTypes?.some((p) => p !== '*' && subTypeMatches(p, t)))).find((r) => r !== undefined) ??
      rows.find((r) => r.subTypes === undefined || r.subTypes.includes('*'));
    if (row) return { row, table: table.name };
  }
  return undefined;
}
