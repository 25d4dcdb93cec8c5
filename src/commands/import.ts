// `virt-ovf import`: the import command; the pipeline is importPackage (src/import/import.ts).
import { importAll } from '../import/import-all.js';
import { importPackage } from '../import/import.js';
import type { ImportOptions, ImportResult } from '../import/options.js';
import type { Reporter } from '../report.js';

/** `virt-ovf import SOURCE`: importPackage, with SIGINT/SIGTERM turned into an abort that rolls back. */
export function runImport(opts: ImportOptions, reporter: Reporter): Promise<ImportResult> {
  return importPackage({ ...opts, handleSignals: true }, reporter);
}

/** `virt-ovf import --all SOURCE`: importAll, with SIGINT/SIGTERM turned into an abort that rolls back. */
export function runImportAll(opts: ImportOptions, reporter: Reporter): Promise<ImportResult[]> {
  return importAll({ ...opts, handleSignals: true }, reporter);
}
