// The virt-ovf library (package.json "exports"): import OVF/OVA packages into libvirt, inspect them,
// export domains. Importing it has no side effects (no signal handlers, libvirt loaded on first use).
export { exportDomain, EXPORT_DEFAULTS, type ExportOptions, type ExportResult } from './export/index.js';
export {
  IMPORT_DEFAULTS,
  importAll,
  importPackages,
  type BatchOptions,
  type BatchOutcome,
  importPackage,
  inspectPackage,
  type ImportOptions,
  type ImportPackageOptions,
  type ImportResult,
  type InspectOptions,
  type InspectPackageOptions,
  type InspectReport,
  type InspectTarget,
  type InspectVolume,
  type PackageOptions,
  type ProfileName,
} from './import/index.js';
export { cleanupRuns, type CleanedObject, type CleanedRun, type CleanupOptions, type CleanupResult } from './journal/cleanup.js';
export { MAC_POLICIES, type MacPolicy } from './import/macs.js';
export { createReporter, silentReporter, type Reporter, type ReporterOptions, type ReportEvent } from './report.js';
export {
  EXIT_STATUS,
  ExitCode,
  FileError,
  InterruptedError,
  LibvirtError,
  LibvirtSetupError,
  ManifestError,
  MappingError,
  NoSpaceError,
  OvfParseError,
  PackageError,
  ToolError,
  TransferError,
  UnsupportedItemError,
  UsageError,
  VirtOvfError,
  type ExitCodeValue,
  type FileErrorExitCode,
  type TransferErrorExitCode,
  type VirtOvfErrorOptions,
} from './errors.js';
export { VERSION } from './version.js';
