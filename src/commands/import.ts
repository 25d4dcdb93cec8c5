// `virt-ovf import`: the import command; the pipeline is importPackage (src/import/import.ts).
import { dirname } from 'node:path';
import { importPackages, type BatchOptions, type BatchOutcome } from '../import/batch.js';
import { importAll } from '../import/import-all.js';
import { importPackage } from '../import/import.js';
import { tempDirOf, type ImportOptions, type ImportResult, type PackageOptions } from '../import/options.js';
import { explainOsError, type UserPath } from '../os-error.js';
import type { Reporter } from '../report.js';

/**
 * The paths a package command's user named, for explainOsError: the package (and, for a
 * descriptor or OVA file, the directory its files are read from) and the mapping overlay.
 */
export function packagePaths(opts: PackageOptions): UserPath[] {
  return [
    { path: opts.source, what: 'package' },
    { path: dirname(opts.source), what: 'package' },
    ...(opts.mappingsDir !== undefined ? [{ path: opts.mappingsDir, what: 'mappings directory', option: 'mappingsDir' }] : []),
  ];
}

/** The paths an import's user named: the package's, the output and temporary directories, the CA file. */
export function importPaths(opts: ImportOptions): UserPath[] {
  return [
    ...(opts.outputDir !== undefined ? [{ path: opts.outputDir, what: 'output directory', option: 'outputDir' }] : []),
    { path: tempDirOf(opts), what: 'temporary directory', option: 'tempDir' },
    ...(opts.caFile !== undefined ? [{ path: opts.caFile, what: 'CA file', option: 'caFile' }] : []),
    ...packagePaths(opts),
  ];
}

/** Rejects with `err` as a FileError when it is an OS error on a path (see explainOsError). */
export function rethrowExplained(paths: readonly UserPath[]): (err: unknown) => never {
  return (err) => {
    throw explainOsError(err, paths) ?? err;
  };
}

/** `virt-ovf import SOURCE`: importPackage, with SIGINT/SIGTERM turned into an abort that rolls back; OS errors as FileError. */
export function runImport(opts: ImportOptions, reporter: Reporter): Promise<ImportResult> {
  return importPackage({ ...opts, handleSignals: true }, reporter).catch(rethrowExplained(importPaths(opts)));
}

/** `virt-ovf import --all SOURCE`: importAll, with SIGINT/SIGTERM turned into an abort that rolls back; OS errors as FileError. */
export function runImportAll(opts: ImportOptions, reporter: Reporter): Promise<ImportResult[]> {
  return importAll({ ...opts, handleSignals: true }, reporter).catch(rethrowExplained(importPaths(opts)));
}

/**
 * `virt-ovf import A B …`: importPackages with SIGINT/SIGTERM rolling back the imports in flight.
 * Each package's OS error becomes a FileError about its own paths; a usage error before any work is thrown.
 */
export async function runImportBatch(sources: readonly string[], opts: BatchOptions, reporter: Reporter): Promise<BatchOutcome[]> {
  const outcomes = await importPackages(sources, { ...opts, handleSignals: true }, reporter).catch(rethrowExplained(importPaths({ ...opts, source: sources[0]! })));
  return outcomes.map((o) => (o.error === undefined ? o : { ...o, error: explainOsError(o.error, importPaths({ ...opts, source: o.source })) ?? o.error }));
}
