// `virt-ovf export DOMAIN -o OUT`: the library's exportDomain, aborted by SIGINT/SIGTERM; OS errors as FileError.
import { dirname } from 'node:path';
import { LibvirtError } from '../errors.js';
import { exportDomain, type ExportOptions, type ExportResult } from '../export/index.js';
import { connectError, connectionContext, virsh } from '../import/advice.js';
import { explainOsError, type UserPath } from '../os-error.js';
import type { Reporter } from '../report.js';

export type { ExportOptions, ExportResult } from '../export/index.js';

/**
 * The paths an export's user named: the output (OUT.ova and its .part, or everything in DIR/),
 * the directory holding it (itself only: the working directory is made there), the key, the
 * certificate, the mapping overlay.
 */
export function exportPaths(opts: ExportOptions): UserPath[] {
  const output = opts.output.replace(/(.)\/+$/, '$1');
  return [
    { path: output, what: 'output', option: 'output' },
    { path: `${output}.part`, what: 'output', option: 'output', exact: true },
    { path: dirname(output), what: 'output', option: 'output', exact: true },
    ...(opts.signKey !== undefined ? [{ path: opts.signKey, what: 'signing key', option: 'signKey' }] : []),
    ...(opts.signCert !== undefined ? [{ path: opts.signCert, what: 'certificate', option: 'signCert' }] : []),
    ...(opts.mappingsDir !== undefined ? [{ path: opts.mappingsDir, what: 'mappings directory', option: 'mappingsDir' }] : []),
  ];
}

/**
 * Runs `virt-ovf export` (see man/virt-ovf.1): {@link exportDomain} with SIGINT/SIGTERM
 * handlers installed for the run (an interrupted export removes what it wrote). An OS error on
 * the output is a FileError of exit 2; on a file the domain names (a disk), of exit 4 saying
 * how to fix the domain; a failed connection says what fixes it for this user and URI.
 * @throws as exportDomain does; InterruptedError on a signal.
 */
export async function runExport(opts: ExportOptions, reporter: Reporter): Promise<ExportResult> {
  try {
    return await exportDomain({ ...opts, handleSignals: true }, reporter);
  } catch (err) {
    if (err instanceof LibvirtError && err.func === 'virConnectOpen') throw connectError(err, opts.connect);
    const edit = virsh(connectionContext(undefined, opts.connect), 'edit', opts.domain);
    throw explainOsError(err, exportPaths(opts), (code) => (code === 'ENOENT' ? `domain "${opts.domain}" uses it (a disk, its backing file or firmware): restore the file, or change the domain with: ${edit}` : undefined)) ?? err;
  }
}
