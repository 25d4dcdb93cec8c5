// The one place a full filesystem becomes an error: ENOSPC/EDQUOT from a write, or qemu-img's "No space left on device".
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { NoSpaceError } from '../errors.js';

/** errno codes of a full filesystem (write(2): ENOSPC; a quota: EDQUOT). */
const NO_SPACE_CODES = new Set(['ENOSPC', 'EDQUOT']);

/** strerror(3) texts of those codes, as qemu-img prints them on stderr. */
const NO_SPACE_TEXT = /No space left on device|Disk quota exceeded/;

/** True when `err` is a Node system error ENOSPC or EDQUOT. */
export function isNoSpaceErrno(err: unknown): boolean {
  return NO_SPACE_CODES.has((err as NodeJS.ErrnoException | undefined)?.code ?? '');
}

/** True when a tool's stderr says a write failed for want of space. */
export function isNoSpaceText(stderr: string): boolean {
  return NO_SPACE_TEXT.test(stderr);
}

/** st_dev of `path`, or undefined when it cannot be stat'ed. */
function deviceOf(path: string): Promise<number | undefined> {
  return stat(path).then(
    (st) => st.dev,
    () => undefined,
  );
}

/**
 * The mount point of the filesystem holding `path` (or its nearest existing parent): the
 * highest ancestor with the same st_dev. A path nothing can be learnt about is returned as is.
 */
export async function mountPointOf(path: string): Promise<string> {
  let dir = resolve(path);
  let dev = await deviceOf(dir);
  while (dev === undefined && dirname(dir) !== dir) {
    dir = dirname(dir);
    dev = await deviceOf(dir);
  }
  if (dev === undefined) return resolve(path);
  while (dirname(dir) !== dir && (await deviceOf(dirname(dir))) === dev) dir = dirname(dir);
  return dir;
}

/**
 * The NoSpaceError (exit 5) for a write of `path` that failed because its filesystem is full:
 * "WHAT (writing PATH): the filesystem mounted at M is full; REMEDY". `what` says what failed
 * (e.g. `qemu-img convert failed: …` with qemu-img's own text), `remedy` how to go on (ending in
 * "; choose …" when `option` names the option to change).
 */
export async function noSpaceError(cause: unknown, info: { path: string; what: string; remedy: string; option?: string }): Promise<NoSpaceError> {
  const mountPoint = await mountPointOf(dirname(info.path));
  const message = `${info.what} (writing ${info.path}): the filesystem mounted at ${mountPoint} is full; ${info.remedy}`;
  return new NoSpaceError(message, { path: info.path, mountPoint, cause, ...(info.option !== undefined ? { option: info.option } : {}) });
}
