// Standard input as a package source (`virt-ovf import -`): a pipe or a file, never a terminal.
import type { Readable } from 'node:stream';
import { UsageError } from '../errors.js';

/** The source name that means standard input. */
export const STDIN_SOURCE = '-';

/** True when `source` names standard input. */
export function isStdin(source: string): boolean {
  return source === STDIN_SOURCE;
}

/**
 * Standard input as a byte stream, for a package read in one pass.
 * @throws UsageError (option `source`) when standard input is a terminal: a package is piped
 *   (`cat app.ova | virt-ovf import -`) or redirected (`virt-ovf import - < app.ova`), never typed.
 */
export function openStdin(stdin: NodeJS.ReadStream = process.stdin): Readable {
  if (stdin.isTTY) {
    throw new UsageError('the source "-" reads the package from standard input, which is a terminal here; pipe the OVA in (cat app.ova | virt-ovf import -) or redirect it (virt-ovf import - < app.ova)', { option: 'source' });
  }
  return stdin;
}
