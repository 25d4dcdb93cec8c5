// Loads and validates the mapping tables in mappings/ (plus a --mappings overlay).
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { MappingError } from '../errors.js';
import { PACKAGE_ROOT } from '../version.js';
import { exportSchema, type ExportTable } from './schema/export.js';

const controllerSchema = z.strictObject({
  /** libvirt <controller type>. */
  type: z.enum(['ide', 'scsi', 'sata', 'usb', 'virtio-serial']),
  /** libvirt <controller model>, e.g. vmpvscsi, lsisas1068, lsilogic, virtio-scsi. */
  model: z.string().optional(),
  /** libvirt <target bus> for hard disks on this controller. */
  diskBus: z.enum(['ide', 'scsi', 'sata', 'virtio', 'usb']),
  /** libvirt <target bus> for CD-ROMs (default: diskBus). */
  cdromBus: z.enum(['ide', 'scsi', 'sata', 'usb']).optional(),
  /** Which <address type='drive'> field takes rasd:AddressOnParent: unit (lsilogic, sata), target (pvscsi, lsisas1068, virtio-scsi), ide (bus from the controller's rasd:Address, unit from AddressOnParent). */
  address: z.enum(['unit', 'target', 'ide']),
  /** Highest AddressOnParent the emulated device accepts. */
  maxAddress: z.number().int().nonnegative(),
  /** Machine type the controller needs (IDE needs pc/i440fx). */
  machine: z.enum(['pc', 'q35']).optional(),
});

const rowSchema = z.strictObject({
  id: z.string().min(1),
  resourceTypes: z.array(z.number().int().nonnegative()).min(1),
  subTypes: z.array(z.string().min(1)).optional(),
  systemTypes: z.string().optional(),
  /** Other child elements of the Item that must match (case-insensitive; "*" = present), for dialects such as oVirt's <Type>/<Device>. */
  extra: z.record(z.string(), z.string()).optional(),
  kind: z.enum(['processor', 'memory', 'controller', 'disk', 'cdrom', 'nic', 'video', 'sound', 'usb', 'tpm', 'ignore']),
  note: z.string().optional(),
  reason: z.string().optional(),
  controller: controllerSchema.optional(),
  nic: z.strictObject({ model: z.string().min(1) }).optional(),
  video: z.strictObject({ model: z.string().min(1) }).optional(),
  sound: z.strictObject({ model: z.string().min(1) }).optional(),
  usb: z.strictObject({ model: z.string().min(1) }).optional(),
  tpm: z.strictObject({ model: z.enum(['tpm-crb', 'tpm-tis']), version: z.enum(['1.2', '2.0']) }).optional(),
  /** Who reads the row: import (OVF to libvirt), export (libvirt to OVF, mapping/reverse.ts) or both (default). */
  direction: z.enum(['both', 'import', 'export']).optional(),
  /** ResourceSubType export writes when the first of `subTypes` is not the one other readers accept best. */
  exportSubType: z.string().min(1).optional(),
  /** Warning export prints when it writes a device through this row. */
  exportNote: z.string().optional(),
});

const tableSchema = z.strictObject({ $comment: z.string().optional(), rows: z.array(rowSchema) });

const osEntrySchema = z.strictObject({ osinfo: z.string().url(), family: z.enum(['linux', 'windows', 'other']) });
/** CIM_OperatingSystem.OsType number (OperatingSystemSection ovf:id) and VMware guest id (vmw:osType). */
const osExportSchema = z.strictObject({ cimOsType: z.number().int().min(0).max(65535), vmwOsType: z.string().min(1) });
const osSchema = z.strictObject({
  $comment: z.string().optional(),
  vmwOsType: z.record(z.string(), osEntrySchema).default({}),
  vboxOsType: z.record(z.string(), osEntrySchema).default({}),
  ovirtOsType: z.record(z.string(), osEntrySchema).default({}),
  cimOsType: z.record(z.string().regex(/^\d+$/), osEntrySchema).default({}),
  /** What export writes for a libosinfo id (mapping/reverse.ts); ids not listed use the tables above read in reverse. */
  export: z
    .strictObject({
      $comment: z.string().optional(),
      osinfo: z.record(z.string().url(), osExportSchema).default({}),
      family: z.partialRecord(z.enum(['linux', 'windows', 'other']), osExportSchema).default({}),
    })
    .default({ osinfo: {}, family: {} }),
});

const formatsSchema = z.strictObject({
  $comment: z.string().optional(),
  rows: z.array(
    z.strictObject({
      pattern: z.string().min(1),
      format: z.enum(['vmdk', 'qcow2', 'raw', 'vpc', 'vhdx', 'vdi']),
      /** The ovf:format URI export writes for this format (the first row of a format that has one). */
      exportUri: z.string().url().optional(),
    }),
  ),
});

const defaultsSchema = z.strictObject({
  $comment: z.string().optional(),
  profiles: z.record(z.string(), z.strictObject({ tables: z.array(z.string()).min(1), machine: z.enum(['pc', 'q35']) })),
  arch: z.string(),
  memoryUnitsWhenAbsent: z.string(),
  memoryMiBWhenAbsent: z.number().int().positive(),
  firmware: z.strictObject({
    vmwConfigKey: z.string(),
    efiValues: z.array(z.string()),
    secureBootVmwConfigKey: z.string(),
    /** oVirt's <BiosType> value to firmware: efi, or efi-secure for secure boot. */
    ovirtBiosTypes: z.record(z.string(), z.enum(['bios', 'efi', 'efi-secure'])),
  }),
  graphics: z.strictObject({ type: z.enum(['vnc', 'spice', 'none']), listen: z.string() }),
  serialConsole: z.boolean(),
  defaultNetwork: z.string(),
  cdromBusWhenNoController: z.enum(['ide', 'scsi', 'sata']),
  diskBusWhenNoController: z.enum(['ide', 'scsi', 'sata', 'virtio']),
  /** Export: vssd:VirtualSystemType written in System (one VMware and VirtualBox both accept). */
  export: z.strictObject({ virtualSystemType: z.string().min(1) }).default({ virtualSystemType: 'vmx-13' }),
});

export type MappingRow = z.infer<typeof rowSchema>;
export type ControllerMapping = z.infer<typeof controllerSchema>;
export type OsEntry = z.infer<typeof osEntrySchema>;
export type Defaults = z.infer<typeof defaultsSchema>;

/**
 * All mapping tables, validated. Device tables are keyed by file stem (devices, virtio, ...):
 * `tables` holds the rows import reads (direction both or import), `exportTables` those export
 * reads (both or export), each in file order.
 */
export interface Mappings {
  readonly tables: Readonly<Record<string, readonly MappingRow[]>>;
  readonly exportTables: Readonly<Record<string, readonly MappingRow[]>>;
  readonly os: z.infer<typeof osSchema>;
  readonly formats: z.infer<typeof formatsSchema>['rows'];
  readonly defaults: Defaults;
  /** mappings/export.json: what export writes where the device tables have no row. */
  readonly export: ExportTable;
}

/** The mappings/ directory shipped with virt-ovf. */
export const BUILTIN_MAPPINGS_DIR = join(PACKAGE_ROOT, 'mappings');

function readJson<T>(file: string, schema: z.ZodType<T>): T {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new MappingError(`${file}: cannot read mapping table: ${(err as Error).message}`, { cause: err });
  }
  const result = schema.safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new MappingError(`${file}: invalid mapping table at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return result.data;
}

/**
 * Loads the built-in tables and, when `overlayDir` is given, the user's tables on top:
 * overlay rows come before the built-in rows of the same table (so they win), OS entries
 * replace built-in keys, defaults replace top-level keys.
 * @throws MappingError naming the file and the JSON path that fails the schema.
 */
export function loadMappings(overlayDir?: string): Mappings {
  const dirs = overlayDir ? [overlayDir, BUILTIN_MAPPINGS_DIR] : [BUILTIN_MAPPINGS_DIR];
  if (overlayDir && !existsSync(overlayDir)) throw new MappingError(`--mappings ${overlayDir}: no such directory`);
  const all: Record<string, MappingRow[]> = {};
  for (const name of ['devices', 'virtio']) {
    all[name] = dirs.flatMap((d) => (existsSync(join(d, `${name}.json`)) ? readJson(join(d, `${name}.json`), tableSchema).rows : []));
  }
  const pick = (skip: string): Record<string, MappingRow[]> => Object.fromEntries(Object.entries(all).map(([n, rows]) => [n, rows.filter((r) => r.direction !== skip)]));
  const tables = pick('export');
  const layered = <T extends object>(file: string, schema: z.ZodType<T>, merge: (over: T, base: T) => T): T => {
    const base = readJson(join(BUILTIN_MAPPINGS_DIR, file), schema);
    const overFile = overlayDir ? join(overlayDir, file) : undefined;
    return overFile && existsSync(overFile) ? merge(readJson(overFile, schema), base) : base;
  };
  const os = layered('os.json', osSchema, (o, b) => ({
    vmwOsType: { ...b.vmwOsType, ...o.vmwOsType },
    vboxOsType: { ...b.vboxOsType, ...o.vboxOsType },
    ovirtOsType: { ...b.ovirtOsType, ...o.ovirtOsType },
    cimOsType: { ...b.cimOsType, ...o.cimOsType },
    export: { osinfo: { ...b.export.osinfo, ...o.export.osinfo }, family: { ...b.export.family, ...o.export.family } },
  }));
  const formats = layered('formats.json', formatsSchema, (o, b) => ({ rows: [...o.rows, ...b.rows] })).rows;
  const defaults = layered('defaults.json', defaultsSchema, (o, b) => ({ ...b, ...o, profiles: { ...b.profiles, ...o.profiles } }));
  for (const [name, profile] of Object.entries(defaults.profiles)) {
    for (const table of profile.tables) {
      if (!(table in tables)) throw new MappingError(`defaults.json: profile "${name}" names unknown table "${table}"`);
    }
  }
  for (const [name, rows] of Object.entries(all)) checkRows(name, rows);
  const exportTable = layered('export.json', exportSchema, (o, b) => ({ ...b, ...o, buses: { ...b.buses, ...o.buses } }));
  return { tables, exportTables: pick('import'), os, formats, defaults, export: exportTable };
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
