// The picker that opens an OVF package as an Archive (model.ts): an OVA tar or a .ovf directory.
import { readdir, stat, open } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ExitCode, FileError, PackageError } from '../errors.js';
import { isOsError, plainReason } from '../os-error.js';
import { BLOCK_SIZE, isTarHeaderBlock } from './tar-format.js';
import { openOva } from './ova.js';
import { openOvfDir } from './ovf-dir.js';
import type { Archive } from './model.js';

export type { Archive, ArchiveEntry, ByteRange } from './model.js';

/** True when the first 512 bytes of `path` are a tar header with a good checksum. */
async function startsWithTarHeader(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const block = Buffer.alloc(BLOCK_SIZE);
    const { bytesRead } = await fh.read(block, 0, BLOCK_SIZE, 0);
    return bytesRead === BLOCK_SIZE && isTarHeaderBlock(block);
  } finally {
    await fh.close();
  }
}

/** True when `path` is a regular file, or a symlink to one. */
function isFileSync(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Opens an OVF package (DSP0243 section 5). `source` may be:
 * - an OVA: a tar file, recognized by a valid tar header at byte 0 whatever its extension;
 * - a `.ovf` descriptor, whose referenced files are looked up beside it;
 * - a directory holding exactly one `*.ovf` file.
 * @param source host path.
 * @returns the opened package; nothing is extracted or copied.
 * @throws FileError (exit 2) when `source` cannot be opened (missing, no permission);
 *   PackageError (file = `source` or the offending file) when the path cannot be read,
 *   a directory has zero or several `.ovf` files (they are listed), a file is neither a tar
 *   archive nor a `.ovf`, or the OVA is malformed (see indexTar and openOva).
 */
export async function openArchive(source: string): Promise<Archive> {
  const fail = (why: string, cause?: unknown): PackageError =>
    new PackageError(`${source}: ${why}`, { file: source, cause });
  let info;
  try {
    info = await stat(source);
  } catch (cause) {
    if (!isOsError(cause)) throw cause;
    const errno = cause.code ?? 'EIO';
    throw new FileError(`cannot open ${source}: ${plainReason(cause)}; give the path of an OVA, an .ovf descriptor or a directory holding one`, { path: source, errno, exitCode: ExitCode.Usage, cause });
  }
  if (info.isDirectory()) {
    let names: string[];
    try {
      names = await readdir(source);
    } catch (cause) {
      throw fail(`cannot list the directory: ${(cause as Error).message}`, cause);
    }
    const ovfs = names.filter((n) => /\.ovf$/i.test(n) && isFileSync(join(source, n))).sort();
    if (ovfs.length === 0) throw fail('the directory holds no .ovf descriptor');
    if (ovfs.length > 1) throw fail(`the directory holds ${ovfs.length} .ovf descriptors (${ovfs.join(', ')}); name the one to use`);
    return openOvfDir(join(source, ovfs[0] as string));
  }
  if (!info.isFile()) throw fail('not a regular file or directory');
  let isTar: boolean;
  try {
    isTar = await startsWithTarHeader(source);
  } catch (cause) {
    throw fail(`cannot read: ${(cause as Error).message}`, cause);
  }
  if (isTar) return openOva(source);
  if (/\.ovf$/i.test(source)) return openOvfDir(source);
  if (/\.ova$/i.test(source)) throw fail('not a tar archive (no valid tar header at byte 0), so not an OVA');
  throw fail(`neither an OVA (tar archive) nor an .ovf descriptor (${basename(source)}); give the OVA or the .ovf that references it, or import a lone disk image with virt-install --import --disk ${source}`);
}
