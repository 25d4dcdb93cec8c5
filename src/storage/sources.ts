// The bytes qemu-img reads for one References/File: in place, or a temporary file for gzip/chunks.
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { Archive } from '../archive/model.js';
import { chunkName, type StoredFile } from '../archive/chunks.js';
import { PackageError } from '../errors.js';
import type { OvfFile } from '../ovf/model.js';
import type { ImageFormat, ImageSource } from './qemu-img.js';

/** A source ready for qemu-img, and how to release it (removes any temporary file). */
export interface PreparedSource {
  readonly source: ImageSource;
  /** True when the bytes were copied to a temporary file. */
  readonly temporary: boolean;
  release(): Promise<void>;
}

/**
 * Prepares a VMDK delta disk and its parents (ovf:parentRef chain, nearest first): each file is
 * copied into a private directory in `tempDir` under the name its child's parentFileNameHint
 * gives (a plain file name, checked by checkImage with allowParentHint), so qemu reads the chain
 * there and nowhere else; the delta is then opened with its backing chain.
 * @throws PackageError when a hint is missing, repeats a name, or a file fails checkImage.
 */
export async function prepareDeltaChain(
  archive: Archive,
  child: OvfFile,
  parents: readonly { diskId: string; file: OvfFile }[],
  opts: { tempDir?: string; signal?: AbortSignal; check: (src: ImageSource, isDelta: boolean) => Promise<{ parentFileNameHint?: string }> },
): Promise<PreparedSource> {
  const dir = await mkdtemp(join(opts.tempDir ?? tmpdir(), 'virt-ovf-'));
  const release = () => rm(dir, { recursive: true, force: true });
  try {
    const copy = async (file: OvfFile, name: string): Promise<ImageSource> => {
      const path = join(dir, name);
      await pipeline(archive.createReadStream(file.href), createWriteStream(path, { flags: 'wx', mode: 0o600 }), ...(opts.signal ? [{ signal: opts.signal }] : []));
      const size = archive.find(file.href)!.size;
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
 * `stored.parts` and decompressed into a temporary file in `tempDir` (default `$TMPDIR`),
 * capped at `maxBytes`.
 * @throws PackageError for an unknown compression, missing chunks, corrupt gzip data, output
 *   beyond maxBytes, or tar padding that is missing or not zeros.
 */
export async function prepareSource(
  archive: Archive,
  from: { readonly file: OvfFile; readonly stored: StoredFile; readonly format: ImageFormat },
  opts: { tempDir?: string; maxBytes: number; signal?: AbortSignal },
): Promise<PreparedSource> {
  const { file, format } = from;
  if (file.compression !== undefined && file.compression !== 'gzip') {
    throw new PackageError(`File "${file.href}": unknown ovf:compression "${file.compression}" (only gzip is defined)`, { file: file.href });
  }
  if (file.compression === undefined && !from.stored.chunked) {
    if (archive.kind !== 'ova') {
      const range = archive.locate(file.href);
      return { source: { ...range, format, label: `"${range.path}"`, wholeFile: true }, temporary: false, release: async () => {} };
    }
    // qemu's offset/size layer wants a size in whole 512-byte sectors: the member and its padding.
    const range = await archive.locatePadded(file.href);
    return { source: { ...range, format, label: `"${file.href}" in ${archive.source}` }, temporary: false, release: async () => {} };
  }
  const parts = from.stored.chunked ? from.stored.parts.map((p) => p.name) : [file.href];
  if (parts.length === 0) throw new PackageError(`File "${file.href}": no chunk ${chunkName(file.href, 0)} in the package`, { file: file.href });
  const dir = await mkdtemp(join(opts.tempDir ?? tmpdir(), 'virt-ovf-'));
  const path = join(dir, 'source');
  const release = () => rm(dir, { recursive: true, force: true });
  try {
    let written = 0;
    const cap = new Transform({
      transform(chunk: Buffer, _enc, done) {
        written += chunk.length;
        if (written > opts.maxBytes) done(new PackageError(`File "${file.href}": expands beyond ${opts.maxBytes} bytes, more than its disk can hold`, { file: file.href }));
        else done(null, chunk);
      },
    });
    const joined = async function* () {
      for (const part of parts) yield* archive.createReadStream(part);
    };
    const input = Readable.from(joined());
    const output = createWriteStream(path, { flags: 'wx', mode: 0o600 });
    const options = opts.signal ? { signal: opts.signal } : {};
    if (file.compression === 'gzip') await pipeline(input, createGunzip(), cap, output, options);
    else await pipeline(input, cap, output, options);
    return { source: { path, offset: 0, size: written, format, label: `"${file.href}" (${file.compression === 'gzip' ? 'decompressed' : 'joined'} into ${path})` }, temporary: true, release };
  } catch (err) {
    await release();
    if (err instanceof PackageError || (opts.signal?.aborted ?? false)) throw opts.signal?.aborted ? opts.signal.reason : err;
    throw new PackageError(`File "${file.href}": cannot ${file.compression === 'gzip' ? 'decompress' : 'join'} it: ${(err as Error).message}`, { file: file.href, cause: err });
  }
}
