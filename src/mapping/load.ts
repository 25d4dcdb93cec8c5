// Loads and validates the mapping tables in mappings/ (plus a --mappings overlay): fixed tables by name, device tables discovered.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { MappingError, UsageError } from '../errors.js';
import { PACKAGE_ROOT } from '../version.js';
import {
  defaultsOverlaySchema,
  defaultsSchema,
  deviceTableSchema,
  formatsSchema,
  mergeDefaults,
  mergeFormats,
  mergeOs,
  osSchema,
  type MappingRow,
  type Profile,
} from './schema/index.js';
import { domainRulesSchema } from './schema/domain.js';
import { exportSchema } from './schema/export.js';
import { poolsSchema } from './schema/pools.js';
import { producersSchema } from './schema/producers.js';
import { systemSchema } from './schema/system.js';

export type { ControllerMapping, Defaults, FormatRow, MappingRow, OsEntry, Profile } from './schema/index.js';

/**
 * A table with a fixed file name: its schema, what an overlay's copy of it may hold (default: the
 * same schema) and how that copy merges over the built-in table.
 */
export interface FixedTable<T, O = T> {
  readonly file: string;
  readonly schema: z.ZodType<T>;
  readonly overlay?: z.ZodType<O>;
  readonly merge: (over: O, base: T) => T;
}

/** Declares a fixed table; `merge` defaults to mergeKeys. */
export function fixedTable<T extends object, O = T>(file: string, schema: z.ZodType<T>, merge?: (over: O, base: T) => T, overlay?: z.ZodType<O>): FixedTable<T, O> {
  return { file, schema, merge: merge ?? (mergeKeys as unknown as (over: O, base: T) => T), ...(overlay ? { overlay } : {}) };
}

/** Overlay keys replace built-in ones; a key whose values are plain objects on both sides merges one level down. */
export function mergeKeys<T extends object>(over: T, base: T): T {
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    const plain = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
    out[key] = plain(prev) && plain(value) ? { ...(prev as object), ...(value as object) } : value;
  }
  return out as T;
}

/**
 * The tables with fixed names, by the Mappings field that holds them. Adding a table is one line
 * here (`key: fixedTable('key.json', keySchema)`, merge by mergeKeys unless given); every other
 * `*.json` in a mappings directory is a device table.
 */
const FIXED_TABLES = {
  os: fixedTable('os.json', osSchema, mergeOs),
  formats: fixedTable('formats.json', formatsSchema, mergeFormats),
  defaults: fixedTable('defaults.json', defaultsSchema, mergeDefaults, defaultsOverlaySchema),
  domain: fixedTable('domain.json', domainRulesSchema),
  export: fixedTable('export.json', exportSchema),
  system: fixedTable('system.json', systemSchema, undefined, systemSchema.partial()),
  producers: fixedTable('producers.json', producersSchema),
  pools: fixedTable('pools.json', poolsSchema),
};

type FixedMappings = { readonly [K in keyof typeof FIXED_TABLES]: (typeof FIXED_TABLES)[K] extends FixedTable<infer T, infer _O> ? T : never };

/** File names of the fixed tables (os.json, formats.json, ...): never read as device tables. */
export const FIXED_TABLE_FILES: readonly string[] = Object.values(FIXED_TABLES).map((t) => t.file);

/**
 * All mapping tables, validated: the fixed tables (os, formats, defaults, ...) and the device
 * tables, keyed by file stem (devices, virtio, ...): `tables` holds the rows import reads
 * (direction both or import), `exportTables` those export reads (both or export), each in file order.
 */
export interface Mappings extends FixedMappings {
  readonly tables: Readonly<Record<string, readonly MappingRow[]>>;
  readonly exportTables: Readonly<Record<string, readonly MappingRow[]>>;
}

/** The mappings/ directory shipped with virt-ovf. */
export const BUILTIN_MAPPINGS_DIR = join(PACKAGE_ROOT, 'mappings');

function readJson<T>(file: string, schema: z.ZodType<T>, hint = ''): T {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new MappingError(`${file}: cannot read mapping table: ${(err as Error).message}`, { cause: err });
  }
  const result = schema.safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new MappingError(`${file}: invalid mapping table at ${issue.path.join('.') || '(root)'}: ${issue.message}${hint}`);
  }
  return result.data;
}

/** A fixed table: the built-in one, with the overlay's copy (when `overlayDir` has one) merged over it. */
function loadFixed<T, O>(table: FixedTable<T, O>, overlayDir: string | undefined): T {
  const base = readJson(join(BUILTIN_MAPPINGS_DIR, table.file), table.schema);
  const overFile = overlayDir ? join(overlayDir, table.file) : undefined;
  if (!overFile || !existsSync(overFile)) return base;
  return table.merge(readJson(overFile, table.overlay ?? (table.schema as unknown as z.ZodType<O>)), base);
}

/** Stems of the device tables in `dir`: every `*.json` (not hidden) that is not a fixed table, sorted. */
export function deviceTableNames(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && !f.startsWith('.') && !FIXED_TABLE_FILES.includes(f))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

/**
 * Loads the built-in tables and, when `overlayDir` is given, the user's tables on top:
 * overlay rows come before the built-in rows of the same device table (so they win), an overlay
 * device table of a new name adds that table, and each fixed table merges as its `merge` says
 * (OS entries replace built-in keys, format rows come first, defaults replace top-level keys and
 * add or replace profiles by name).
 * @throws MappingError naming the file and the JSON path that fails the schema, or a profile
 *   naming a table that does not exist, or (option `mappings`) when `overlayDir` is not a directory.
 */
export function loadMappings(overlayDir?: string): Mappings {
  if (overlayDir !== undefined && !isDirectory(overlayDir)) throw new MappingError(`mappings directory ${overlayDir}: no such directory`, { option: 'mappings' });
  const dirs = overlayDir !== undefined ? [overlayDir, BUILTIN_MAPPINGS_DIR] : [BUILTIN_MAPPINGS_DIR];
  const hint = ` (every .json file but ${FIXED_TABLE_FILES.join(', ')} is read as a device table)`;
  const all: Record<string, MappingRow[]> = {};
  for (const name of [...new Set(dirs.flatMap(deviceTableNames))].sort()) {
    all[name] = dirs.flatMap((d) => (existsSync(join(d, `${name}.json`)) ? readJson(join(d, `${name}.json`), deviceTableSchema, hint).rows : []));
  }
  const fixed = Object.fromEntries(Object.entries(FIXED_TABLES).map(([key, table]) => [key, loadFixed(table as FixedTable<unknown, unknown>, overlayDir)])) as unknown as FixedMappings;
  for (const [name, profile] of Object.entries(fixed.defaults.profiles)) {
    for (const table of profile.tables) {
      if (!(table in all)) throw new MappingError(`defaults.json: profile "${name}" names unknown table "${table}"`);
    }
  }
  for (const [name, rows] of Object.entries(all)) checkRows(name, rows);
  const pick = (skip: string): Record<string, MappingRow[]> => Object.fromEntries(Object.entries(all).map(([n, rows]) => [n, rows.filter((r) => r.direction !== skip)]));
  return { ...fixed, tables: pick('export'), exportTables: pick('import') };
}

/**
 * The profile called `name` (--profile).
 * @throws UsageError (option `profile`) listing the known profiles when there is none of that name.
 */
export function resolveProfile(mappings: Pick<Mappings, 'defaults'>, name: string): Profile {
  const profile = Object.hasOwn(mappings.defaults.profiles, name) ? mappings.defaults.profiles[name] : undefined;
  if (!profile) throw new UsageError(`unknown profile "${name}" (known: ${profileNames(mappings).join(', ')})`, { option: 'profile' });
  return profile;
}

/** Names of the profiles, sorted; without `mappings`, those of the built-in defaults.json (read alone, for --profile's choices). */
export function profileNames(mappings?: Pick<Mappings, 'defaults'>): string[] {
  return Object.keys((mappings ?? { defaults: loadFixed(FIXED_TABLES.defaults, undefined) }).defaults.profiles).sort();
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function checkRows(table: string, rows: readonly MappingRow[]): void {
  for (const row of rows) {
    const needs = { controller: row.controller, nic: row.nic, video: row.video, sound: row.sound, usb: row.usb, tpm: row.tpm } as const;
    const key = row.kind as keyof typeof needs;
    if (key in needs && needs[key] === undefined) throw new MappingError(`${table}.json: row "${row.id}" of kind ${row.kind} needs a "${row.kind}" object`);
    if (row.kind === 'ignore' && !row.reason) throw new MappingError(`${table}.json: row "${row.id}" of kind ignore needs a "reason"`);
    if (row.kind === 'ignore' && row.direction === 'export') throw new MappingError(`${table}.json: row "${row.id}" of kind ignore cannot be export-only (export leaves unmapped devices out by itself)`);
    if (row.systemTypes !== undefined) {
      try {
        new RegExp(row.systemTypes);
      } catch {
        throw new MappingError(`${table}.json: row "${row.id}" has an invalid systemTypes pattern`);
      }
    }
  }
}
