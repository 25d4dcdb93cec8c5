// What the CLI prints for an error and how it exits: the message with its flag, OS reasons said plainly, and a bug said to be one.
import { ExitCode, VirtOvfError } from '../errors.js';
import { explainOsError, plainErrnoText, type UserPath } from '../os-error.js';
import { VERSION } from '../version.js';

/** An error as the CLI reports it (the `error` event, see man/virt-ovf.1 JSON OUTPUT). */
export interface PresentedError {
  readonly message: string;
  readonly exitCode: number;
  /** The error class, e.g. `FileError`; `Error`, `TypeError`, … for a bug. */
  readonly errorClass: string;
  /** The library option the remedy concerns, e.g. `pool`. */
  readonly option?: string;
  /** True for a bug: exit 1, and the stack trace is printed only with -v. */
  readonly bug: boolean;
  /** The stack trace of a bug. */
  readonly stack?: string;
}

/**
 * Turns whatever a command threw into what the CLI prints: a VirtOvfError keeps its message
 * (plus the flag of its option, Node's errno text said plainly) and exit code; an OS error
 * becomes a FileError (os-error.ts explainOsError, with the command's `userPaths`); anything
 * else, or a VirtOvfError of exit 1, is a bug: "internal error: …; this is a bug; please report it".
 */
export function presentError(err: unknown, userPaths: readonly UserPath[] = []): PresentedError {
  const typed = err instanceof VirtOvfError ? err : (explainOsError(err, userPaths) ?? err);
  const errorClass = (typed as Error | undefined)?.constructor?.name ?? 'Error';
  if (typed instanceof VirtOvfError && typed.exitCode !== ExitCode.Internal) {
    return { message: plainErrnoText(withOption(typed)), exitCode: typed.exitCode, errorClass, bug: false, ...(typed.option ? { option: typed.option } : {}) };
  }
  const what = typed instanceof Error ? typed.message : String(typed);
  return {
    message: `internal error: ${what}; this is a bug; please report it with the command line and its output with -v (virt-ovf ${VERSION})`,
    exitCode: ExitCode.Internal,
    errorClass,
    bug: true,
    ...(typed instanceof Error && typed.stack ? { stack: typed.stack } : {}),
  };
}

/**
 * The error's message with the CLI flag of the option its remedy concerns: a closing "choose …"
 * remedy is completed by the flag (`…; choose another name with --name`), any other message gets
 * it in parentheses (`unknown profile "x" (known: …) (--profile)`).
 */
export function withOption(err: VirtOvfError): string {
  if (err.option === undefined) return err.message;
  const flag = flagOf(err.option);
  if (err.message.includes(flag)) return err.message;
  return /; choose [^;]*$/.test(err.message) ? `${err.message} with ${flag}` : `${err.message} (${flag})`;
}

/** The flag of a library option named by an error (signKey is --sign, ovfVersion --ovf-version, networks --network, tempDir --tmpdir, httpCaFile --http-ca, volumeFormat --format, existingVolumes --volume). */
export function flagOf(option: string): string {
  const renamed: Record<string, string> = { signKey: 'sign', signCert: 'cert', mappingsDir: 'mappings', compressLevel: 'compress', networks: 'network', bridges: 'bridge', userNetwork: 'user-net', properties: 'prop', caFile: 'ca', httpCaFile: 'http-ca', tempDir: 'tmpdir', volumeFormat: 'format', existingVolumes: 'volume' };
  return `--${renamed[option] ?? option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}
