// TEMPORARY (issue 8): the export entry point as a thin wrapper over runExport, until
// export/index.ts provides it; the lead points index.ts at that module and deletes this file.
// (importPackage and inspectPackage come from import/index.ts.)
import { runExport, type ExportOptions, type ExportResult } from './commands/export.js';
import type { ProfileName } from './import/options.js';
import { silentReporter, type Reporter } from './report.js';

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
export const DEFAULTS = { profile: 'faithful', ovfVersion: 1, diskFormat: 'vmdk', compressLevel: 1, manifest: 'sha256' } as const;

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

export type { ExportResult };
