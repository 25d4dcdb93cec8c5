// TEMPORARY (issue 8): the library entry points as thin wrappers over runImport, runInspect and
// runExport, until import/index.ts and export/index.ts provide them; the lead points index.ts at
// those modules and deletes this file.
import { runExport, type ExportOptions, type ExportResult } from './commands/export.js';
import { runImport, type ImportOptions, type ImportResult } from './commands/import.js';
import { runInspect, type InspectReport } from './commands/inspect.js';
import type { PlanOptions } from './commands/plan.js';
import { silentReporter, type Reporter } from './report.js';

/** A device profile of the mapping tables (defaults.json): the built-in ones, or one a mappingsDir overlay adds. */
export type ProfileName = 'faithful' | 'virtio' | (string & {});

/** Options every entry point shares. */
interface CommonOptions {
  /**
   * Device profile; an unknown one throws UsageError (option `profile`) listing the known ones.
   * @default 'faithful'
   */
  readonly profile?: ProfileName;
  /** Directory of mapping tables laid over the built-in ones (may add device tables and profiles). */
  readonly mappingsDir?: string;
}

/** Where progress events and warnings go. */
interface Reporting {
  /** Receives progress events and warnings. @default silentReporter() */
  readonly reporter?: Reporter;
}

/** Options of inspectPackage: which package and how to map it. */
export interface InspectPackageOptions extends CommonOptions, Omit<PlanOptions, keyof CommonOptions | 'descriptorOnly' | 'volumeFormat'> {}

/** Options of importPackage; only `source` is required. */
export interface ImportPackageOptions extends CommonOptions, Reporting, Omit<ImportOptions, keyof CommonOptions | 'pool' | 'verify' | 'descriptorOnly'> {
  /** Storage pool for the volumes. @default 'default' */
  readonly pool?: string;
  /** Verify the manifest (.mf) digests and the signature. @default true */
  readonly verify?: boolean;
}

/** Options of exportDomain; only `domain` and `output` are required. */
export interface ExportDomainOptions extends CommonOptions, Reporting, Omit<ExportOptions, keyof CommonOptions | 'ovfVersion' | 'diskFormat' | 'compressLevel' | 'manifest'> {
  /** @default 1 */
  readonly ovfVersion?: 1 | 2;
  /** @default 'vmdk' */
  readonly diskFormat?: 'vmdk' | 'qcow2' | 'raw';
  /** deflate level 0-9 of streamOptimized VMDK grains. @default 1 */
  readonly compressLevel?: number;
  /** @default 'sha256' */
  readonly manifest?: 'sha1' | 'sha256' | 'sha512' | 'none';
}

/** The defaults the option types document. */
export const DEFAULTS = { profile: 'faithful', pool: 'default', verify: true, ovfVersion: 1, diskFormat: 'vmdk', compressLevel: 1, manifest: 'sha256' } as const;

/**
 * Imports an OVF/OVA package as a libvirt domain (or, with `printXml`/`dryRun`, says what it would create).
 * @throws the VirtOvfError subclass matching the failure (see errors.ts).
 */
export function importPackage(opts: ImportPackageOptions): Promise<ImportResult> {
  const { reporter = silentReporter(), ...rest } = opts;
  return runImport({ ...rest, profile: opts.profile ?? DEFAULTS.profile, pool: opts.pool ?? DEFAULTS.pool, verify: opts.verify ?? DEFAULTS.verify }, reporter);
}

/** What importing a package would create, without touching libvirt or the disks. @throws VirtOvfError */
export function inspectPackage(opts: InspectPackageOptions): Promise<InspectReport> {
  return runInspect({ ...opts, profile: opts.profile ?? DEFAULTS.profile });
}

/** Exports a libvirt domain as an OVA or an OVF directory. @throws VirtOvfError */
export function exportDomain(opts: ExportDomainOptions): Promise<ExportResult> {
  const { reporter = silentReporter(), ...rest } = opts;
  return runExport(
    {
      ...rest,
      profile: opts.profile ?? DEFAULTS.profile,
      ovfVersion: opts.ovfVersion ?? DEFAULTS.ovfVersion,
      diskFormat: opts.diskFormat ?? DEFAULTS.diskFormat,
      compressLevel: opts.compressLevel ?? DEFAULTS.compressLevel,
      manifest: opts.manifest ?? DEFAULTS.manifest,
    },
    reporter,
  );
}

export type { ExportResult, ImportResult, InspectReport };
