// Public entry points of the import library: importPackage, importAll, inspectPackage and their types.
export { importPackages, type BatchOptions, type BatchOutcome } from './batch.js';
export { importAll } from './import-all.js';
export { importPackage } from './import.js';
export { inspectPackage, type InspectReport } from './inspect.js';
export type { InspectTarget, InspectVolume } from './inspect-target.js';
export {
  IMPORT_DEFAULTS,
  type ImportOptions,
  type ImportPackageOptions,
  type ImportResult,
  type InspectOptions,
  type InspectPackageOptions,
  type PackageOptions,
  type ProfileName,
} from './options.js';
