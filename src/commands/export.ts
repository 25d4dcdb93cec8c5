// `virt-ovf export DOMAIN -o OUT`: the library's exportDomain, aborted by SIGINT/SIGTERM.
import { exportDomain, type ExportOptions, type ExportResult } from '../export/index.js';
import type { Reporter } from '../report.js';

export type { ExportOptions, ExportResult } from '../export/index.js';

/**
 * Runs `virt-ovf export` (see man/virt-ovf.1): {@link exportDomain} with SIGINT/SIGTERM
 * handlers installed for the run (an interrupted export removes what it wrote).
 * @throws as exportDomain does; InterruptedError on a signal.
 */
export async function runExport(opts: ExportOptions, reporter: Reporter): Promise<ExportResult> {
  return exportDomain({ ...opts, handleSignals: true }, reporter);
}
