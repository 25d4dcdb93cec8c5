// Library entry point of export: exportDomain, its options (defaults in the types) and result.
import { withSignals } from '../rollback.js';
import { silentReporter, type Reporter } from '../report.js';
import { driveExport } from './driver.js';
import { EXPORT_DEFAULTS, type ExportOptions, type ExportResult, type ResolvedExportOptions } from './types.js';

export { EXPORT_DEFAULTS, type ExportOptions, type ExportResult, type ResolvedExportOptions } from './types.js';

/**
 * Exports a libvirt domain as an OVA or an OVF directory (see driver.ts for the steps). A
 * stopped domain's disks are read as the guest sees them (backing chain, block devices,
 * network disks), each served by a qemu-storage-daemon that holds QEMU's image locks until
 * the end; a running one is copied first through a push-mode backup job (the guest keeps
 * running). The output appears only when complete; on
 * failure or abort what was written is removed. An existing file is never replaced unless
 * `force`, and a file that a domain or pool holds never is (output.ts, protected.ts). No signal
 * handler is installed unless `handleSignals`.
 * @param reporter receives stages, progress and warnings (default: none printed).
 * @throws UsageError (with `option`) for bad options, before anything is opened, and for an
 *   existing output (option `force`) or one a domain or pool holds (option `output`);
 *   LibvirtSetupError (option `lax`) naming a disk that cannot be read, or naming the domain
 *   when it was started during the export;
 *   LibvirtSetupError/LibvirtError, MappingError, ToolError, PackageError as the step fails;
 *   InterruptedError or the signal's reason when aborted.
 */
export async function exportDomain(options: ExportOptions, reporter: Reporter = silentReporter()): Promise<ExportResult> {
  const opts: ResolvedExportOptions = {
    domain: options.domain,
    output: options.output,
    ovfVersion: options.ovfVersion ?? EXPORT_DEFAULTS.ovfVersion,
    diskFormat: options.diskFormat ?? EXPORT_DEFAULTS.diskFormat,
    compressLevel: options.compressLevel ?? EXPORT_DEFAULTS.compressLevel,
    manifest: options.manifest ?? EXPORT_DEFAULTS.manifest,
    profile: options.profile ?? EXPORT_DEFAULTS.profile,
    lax: options.lax ?? EXPORT_DEFAULTS.lax,
    force: options.force ?? EXPORT_DEFAULTS.force,
    transfer: options.transfer ?? EXPORT_DEFAULTS.transfer,
    ...(options.connect !== undefined ? { connect: options.connect } : {}),
    ...(options.signKey !== undefined ? { signKey: options.signKey } : {}),
    ...(options.signCert !== undefined ? { signCert: options.signCert } : {}),
    ...(options.mappingsDir !== undefined ? { mappingsDir: options.mappingsDir } : {}),
    ...(options.stateDir !== undefined ? { stateDir: options.stateDir } : {}),
  };
  const run = (signal: AbortSignal) => driveExport(opts, reporter, options.signal ? AbortSignal.any([signal, options.signal]) : signal);
  return options.handleSignals ? withSignals(run) : run(options.signal ?? new AbortController().signal);
}
