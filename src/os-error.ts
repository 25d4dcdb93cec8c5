// OS errors (errno) as FileError: the path named, the reason said plainly, and what to do; never Node's errno text.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { ExitCode, FileError, type FileErrorExitCode } from './errors.js';

/** errno codes in plain words (after strerror(3)), as the reason of a message. */
const WHY: Readonly<Record<string, string>> = {
  ENOENT: 'it does not exist',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the filesystem is mounted read-only',
  EEXIST: 'it already exists',
  ENOTDIR: 'a part of the path is not a directory',
  EISDIR: 'it is a directory',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'the name is too long',
  EBUSY: 'it is in use',
  ETXTBSY: 'it is in use',
  EIO: 'input/output error (the device or filesystem is failing)',
  ENXIO: 'no such device',
  ENODEV: 'no such device',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files',
  EXDEV: 'it is on another filesystem',
  ENOTEMPTY: 'the directory is not empty',
  EFBIG: 'the file is too large for the filesystem',
  EINVAL: 'the filesystem does not support this operation',
};

/** What to do about each errno, before "or choose another …". */
const FIX: Readonly<Record<string, string>> = {
  ENOENT: 'check the path',
  EACCES: 'give the user running virt-ovf access to it',
  EPERM: 'give the user running virt-ovf access to it',
  EROFS: 'remount it read-write',
  EEXIST: 'remove it',
  EBUSY: 'wait until it is free',
  ETXTBSY: 'wait until it is free',
};

/** What a failed system call was doing, as "cannot VERB PATH". */
const ACTION: Readonly<Record<string, string>> = {
  open: 'open', stat: 'open', lstat: 'open', access: 'use', read: 'read', write: 'write', mkdir: 'create the directory',
  mkdtemp: 'create a directory in', rename: 'create', link: 'create', copyfile: 'copy', unlink: 'remove', rmdir: 'remove',
  rm: 'remove', scandir: 'list the directory', opendir: 'list the directory', statfs: 'measure the free space of',
  realpath: 'resolve', symlink: 'create', chmod: 'change the mode of', ftruncate: 'resize', fsync: 'flush',
};

/** True when `err` is a Node system error (an errno code such as ENOENT), with or without a path. */
export function isOsError(err: unknown): err is NodeJS.ErrnoException {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return err instanceof Error && typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}

/** The reason of an OS error in plain words: from the table, else Node's text without the code and the path. */
export function plainReason(err: NodeJS.ErrnoException): string {
  return WHY[err.code ?? ''] ?? err.message.replace(/^E[A-Z0-9]+: /, '').replace(/, \w+ '[^']*'( -> '[^']*')?$/, '');
}

/**
 * Rewrites Node's errno text inside a message ("ENOENT: no such file or directory, open '/x'")
 * as the plain reason ("it does not exist"); the path stays when the message does not name it
 * already. For messages built by other layers from `err.message`.
 */
export function plainErrnoText(message: string): string {
  return message.replace(/\b(E[A-Z0-9]{2,}): ([^,\n]+), (\w+) '([^']*)'(?: -> '[^']*')?/g, (_all, code: string, text: string, _syscall: string, path: string) => {
    const why = WHY[code] ?? text;
    const others = message.split(_all).join('');
    return others.includes(path) ? why : `${path}: ${why}`;
  });
}

/** A path the user named, and how a failure on it is told. */
export interface UserPath {
  /** The path as given; failures on it or inside it (a directory) are the user's. */
  readonly path: string;
  /** What it is, e.g. `output directory`, `temporary directory`. */
  readonly what: string;
  /** The library option naming it, e.g. `output`, `tempDir`; the CLI turns it into the flag. */
  readonly option?: string;
  /** Only the path itself is the user's, not what lies under it (e.g. the directory an OVA is written into). */
  readonly exact?: boolean;
}

/** The user path holding `path` (equal to it, or a directory that contains it), if any. */
function owner(path: string, userPaths: readonly UserPath[]): UserPath | undefined {
  const abs = resolve(path);
  return userPaths.find((u) => {
    const rel = relative(resolve(u.path), abs);
    return rel === '' || (!u.exact && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
  });
}

/**
 * The FileError for an OS error, or undefined when `err` is not one or names no path. A path
 * inside one of `userPaths` is the user's (exit 2, its option, "… or choose another WHAT");
 * any other path was named by libvirt or the host (exit 4, `hostRemedy` when given).
 * Message: `cannot ACTION PATH: WHY; HOW TO FIX`.
 */
export function explainOsError(err: unknown, userPaths: readonly UserPath[], hostRemedy?: (code: string, path: string) => string | undefined): FileError | undefined {
  if (!isOsError(err) || err.code === 'ENOSPC' || err.code === 'EDQUOT') return undefined;
  // mkdtemp's path carries the random suffix: name the directory; a link or rename clashes on its destination.
  const dest = (err as NodeJS.ErrnoException & { dest?: string }).dest;
  const raw = err.syscall === 'mkdtemp' && err.path !== undefined ? dirname(err.path) : err.code === 'EEXIST' && dest !== undefined ? dest : err.path;
  if (raw === undefined) return undefined;
  const code = err.code ?? 'EIO';
  const action = ACTION[err.syscall ?? ''] ?? 'use';
  const mine = owner(raw, userPaths);
  const fix = FIX[code];
  const remedy = mine ? `${fix ? `${fix}, or ` : ''}choose another ${mine.what}` : (hostRemedy?.(code, raw) ?? fix ?? 'check the path');
  const exitCode: FileErrorExitCode = mine ? ExitCode.Usage : ExitCode.Libvirt;
  return new FileError(`cannot ${action} ${raw}: ${plainReason(err)}; ${remedy}`, { path: raw, errno: code, exitCode, cause: err, ...(mine?.option !== undefined ? { option: mine.option } : {}) });
}

/**
 * Refuses a directory the user named that cannot serve: missing, not a directory, or (with
 * `writable`) not writable: EROFS always, EACCES where the mode bits bind (not for root).
 * `named` is how the message names it (e.g. `temporary directory /x`), `what` what to choose
 * instead (e.g. `temporary directory`).
 * @throws FileError (exit 2, `option`): "NAMED is on a read-only filesystem; choose another WHAT".
 */
export async function checkUserDirectory(dir: string, opts: { named: string; what: string; option?: string; writable: boolean }): Promise<void> {
  const refuse = (why: string, errno: string, cause?: unknown) =>
    new FileError(`${opts.named} ${why}; choose another ${opts.what}`, { path: dir, errno, exitCode: ExitCode.Usage, cause, ...(opts.option !== undefined ? { option: opts.option } : {}) });
  const st = await stat(dir).catch((err: NodeJS.ErrnoException) => {
    throw refuse(err.code === 'ENOENT' ? 'does not exist' : `cannot be used (${plainReason(err)})`, err.code ?? 'EIO', err);
  });
  if (!st.isDirectory()) throw refuse('is not a directory', 'ENOTDIR');
  if (!opts.writable) return;
  await access(dir, constants.W_OK | constants.X_OK).catch((err: NodeJS.ErrnoException) => {
    throw refuse(err.code === 'EROFS' ? 'is on a read-only filesystem' : `is not writable (${plainReason(err)})`, err.code ?? 'EACCES', err);
  });
}
