// TEMPORARY (issue 8): the library entry points as thin wrappers over runImport, runInspect and
// runExport, until import/index.ts and export/index.ts provide them; the lead points index.ts at
// those modules and deletes this file.
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

/** The defaults the option types document. */
export const DEFAULTS = { profile: 'faithful', pool: 'default', verify: true } as const;

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

export type { ImportResult, InspectReport };
