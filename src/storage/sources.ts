// The bytes qemu-img reads for one References/File: in place, or a sparse temporary file (a gzip or chunked file of a format that needs random access, or one read from a stream).
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Archive } from '../archive/model.js';
import type { StoredFile } from '../archive/chunks.js';
import { PackageError } from '../errors.js';
import { makeTempDir, type TrackedDir } from '../journal/tracked.js';
import type { OvfFile } from '../ovf/model.js';
import { isNoSpaceErrno, noSpaceError } from './no-space.js';
import type { ImageFormat, ImageSource } from './qemu-img.js';
import { SparseFileWriter } from './sparse-file.js';
import { checkCompression, imageBytes, storedBytes, type MemberTaps } from './stored-stream.js';

/** A source ready for qemu-img, and how to release it (removes any temporary file). */
export interface PreparedSource {
  readonly source: ImageSource;
  /** True when the bytes were copied to a temporary file. */
  readonly temporary: boolean;
  release(): Promise<void>;
}

/** What to do when the temporary directory's filesystem is full (the CLI adds `with --tmpdir`). */
const TEMP_FULL = 'choose another temporary directory';

/** A private directory `virt-ovf-XXXXXXXX` in `tempDir` (default: the system's, os.tmpdir()), journaled, and how to remove it. */
function privateDir(tempDir: string | undefined): Promise<TrackedDir> {
  return makeTempDir(tempDir ?? tmpdir(), 'virt-ovf-');
}

/** Copies `input` into a new sparse file at `path` (see SparseFileWriter), piped through `through`; returns its length in bytes. */
async function copySparse(input: NodeJS.ReadableStream, path: string, through: NodeJS.ReadWriteStream[], signal: AbortSignal | undefined): Promise<number> {
  const output = new SparseFileWriter(path);
  await pipeline([input, ...through, output], ...(signal ? [{ signal }] : []));
  return output.lengthBytes;
}

/**
 * The error of a failed temporary copy: the signal's reason when aborted, a NoSpaceError (exit 5,
 * option `tempDir`) naming the full filesystem for ENOSPC/EDQUOT, else `other()`.
 */
async function copyFailure(err: unknown, path: string, what: string, signal: AbortSignal | undefined, other: () => unknown): Promise<unknown> {
  if (signal?.aborted) return signal.reason;
  if (isNoSpaceErrno(err)) return noSpaceError(err, { path, what: `cannot write the temporary copy of ${what}`, remedy: TEMP_FULL, option: 'tempDir' });
  return other();
}

/**
 * Prepares a VMDK delta disk and its parents (ovf:parentRef chain, nearest first): each file is
 * copied, sparse, into a private directory in `tempDir` (default: os.tmpdir()) under the name
 * its child's parentFileNameHint gives (a plain file name, checked by checkImage with
 * allowParentHint), so qemu reads the chain there and nowhere else; the delta is then opened
 * with its backing chain.
 * @throws PackageError when a hint is missing, repeats a name, or a file fails checkImage;
 *   NoSpaceError when the temporary directory's filesystem fills up.
 */
export async function prepareDeltaChain(
  archive: Archive,
  child: OvfFile,
  parents: readonly { diskId: string; file: OvfFile }[],
  opts: { tempDir?: string; signal?: AbortSignal; check: (src: ImageSource, isDelta: boolean) => Promise<{ parentFileNameHint?: string }> },
): Promise<PreparedSource> {
  const { dir, release } = await privateDir(opts.tempDir);
  try {
    const copy = async (file: OvfFile, name: string): Promise<ImageSource> => {
      const path = join(dir, name);
      const size = await copySparse(archive.createReadStream(file.href), path, [], opts.signal).catch(async (err: unknown) => {
        throw await copyFailure(err, path, `"${file.href}"`, opts.signal, () => err);
      });
      return { path, offset: 0, size, format: 'vmdk', wholeFile: true, label: `"${file.href}" in ${archive.source}` };
    };
    const source = await copy(child, '.delta.vmdk');
    let hint = (await opts.check(source, true)).parentFileNameHint;
    const used = new Set(['.delta.vmdk']);
    for (const [i, p] of parents.entries()) {
      if (hint === undefined) throw new PackageError(`File "${i === 0 ? child.href : parents[i - 1]!.file.href}": the descriptor gives it a parent (Disk "${p.diskId}") but the VMDK names none`, { file: child.href });
      if (used.has(hint)) throw new PackageError(`File "${p.file.href}": parentFileNameHint "${hint}" repeats a name in the chain`, { file: p.file.href });
      used.add(hint);
      const placed = await copy(p.file, hint);
      hint = (await opts.check(placed, i < parents.length - 1)).parentFileNameHint;
    }
    if (hint !== undefined) throw new PackageError(`File "${parents[parents.length - 1]!.file.href}": names a parent ("${hint}") the descriptor does not declare`, { file: child.href });
    return { source: { ...source, followBacking: true }, temporary: true, release };
  } catch (err) {
    await release();
    throw opts.signal?.aborted ? opts.signal.reason : err;
  }
}

/**
 * Prepares `file` for qemu-img. An uncompressed, unchunked file is read in place (the OVA
 * member's offset and size, padded to whole sectors by archive.locatePadded; no copy). A
 * gzip-compressed (`ovf:compression="gzip"`) or chunked (`ovf:chunkSize`) file is joined from
 * `stored.parts` and decompressed into a sparse temporary file (spill), each part hashed through
 * `taps` on the way.
 * @throws as spill; PackageError for an unknown compression or tar padding that is missing or
 *   not zeros.
 */
export async function prepareSource(
  archive: Archive,
  from: { readonly file: OvfFile; readonly stored: StoredFile; readonly format: ImageFormat },
  opts: { tempDir?: string; maxBytes: number; signal?: AbortSignal; taps?: MemberTaps },
): Promise<PreparedSource> {
  const { file, format } = from;
  checkCompression(file);
  if (file.compression === undefined && !from.stored.chunked) {
    if (archive.kind !== 'ova') {
      const range = archive.locate(file.href);
      return { source: { ...range, format, label: `"${range.path}"`, wholeFile: true }, temporary: false, release: async () => {} };
    }
    // qemu's offset/size layer wants a size in whole 512-byte sectors: the member and its padding.
    const range = await archive.locatePadded(file.href);
    return { source: { ...range, format, label: `"${file.href}" in ${archive.source}` }, temporary: false, release: async () => {} };
  }
  const stored = storedBytes(archive, from.stored, opts.taps ? { taps: opts.taps } : {});
  return spill(imageBytes(file, stored, opts.maxBytes), { file, format, ...opts });
}

/**
 * Writes the image bytes of `file` (already joined and inflated: imageBytes) into a sparse
 * temporary file (zero runs are holes) in a private journaled directory in `tempDir` (default:
 * os.tmpdir(), i.e. `$TMPDIR` or /tmp), for qemu-img to read; release() removes it.
 * @throws PackageError from the bytes (corrupt gzip data, output beyond the cap); NoSpaceError
 *   (exit 5, option tempDir) when the temporary directory's filesystem fills up; the signal's
 *   reason when aborted.
 */
export async function spill(bytes: AsyncIterable<Uint8Array>, opts: { file: OvfFile; format: ImageFormat; tempDir?: string; signal?: AbortSignal }): Promise<PreparedSource> {
  const { file, format } = opts;
  const { dir, release } = await privateDir(opts.tempDir);
  const path = join(dir, 'source');
  const how = file.compression === 'gzip' ? 'decompress' : 'join';
  try {
    const size = await copySparse(Readable.from(bytes, { objectMode: false }), path, [], opts.signal);
    return { source: { path, offset: 0, size, format, label: `"${file.href}" (${how === 'decompress' ? 'decompressed' : 'joined'} into ${path})` }, temporary: true, release };
  } catch (err) {
    await release();
    throw await copyFailure(err, path, `"${file.href}"`, opts.signal, () =>
      err instanceof PackageError ? err : new PackageError(`File "${file.href}": cannot ${how} it: ${(err as Error).message}`, { file: file.href, cause: err }),
    );
  }
}
