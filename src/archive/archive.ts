// The picker that opens an OVF package as an Archive (model.ts): an OVA tar or a .ovf directory, on this host or at a URL.
import { readdir, stat, open } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import { ExitCode, FileError, PackageError, UsageError } from '../errors.js';
import { isOsError, plainReason } from '../os-error.js';
import { displayUrl, type HttpOptions } from '../source/http-options.js';
import { isHttpUrl, openHttpSource } from '../source/http-source.js';
import { DEFAULT_SMALL_MAX, readSpan } from './access.js';
import { BLOCK_SIZE, isTarHeaderBlock } from './tar-format.js';
import { openOva } from './ova.js';
import { openOvfDir } from './ovf-dir.js';
import { openOvfUrl } from './ovf-url.js';
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

/** How a source is reached besides its name: HTTP(S) settings for a URL. */
export interface SourceOptions {
  readonly http?: HttpOptions;
}

/**
 * A package that can only be read front to back, once: the body of a URL whose server ignores
 * Range requests, or a URL whose bytes are not a plain tar (a compressed OVA). The sequential
 * import (import/sequential.ts) reads it; `stream` gives the bytes from byte 0, as stored.
 */
export interface SequentialSource {
  /** The URL as named, for messages (display form: no user information, query elided). */
  readonly source: string;
  readonly stream: Readable;
  /** Length in bytes, when the server gives it. */
  readonly sizeBytes?: number;
  /** Bytes received from the server so far. */
  bytesTransferred(): number;
}

/** What openSource opened: a package with random access, or one to read front to back. */
export type OpenedSource = { readonly archive: Archive } | { readonly sequential: SequentialSource };

/**
 * Opens a package named by an http:// or https:// URL. The first request asks for the first
 * 64 KiB with a Range header (source/http-source.ts openHttpSource). With ranges: a tar
 * header at byte 0 makes it an OVA read in place by range requests (openOva over an
 * HttpRangeReader: the tar headers, then only the members asked for); a URL ending in `.ovf`
 * is a descriptor with its files beside it (openOvfUrl); anything else (a compressed OVA) is
 * handed over as a resumable stream. Without ranges: an `.ovf` is read whole (its neighbours
 * are separate requests), anything else is handed over as the body that is arriving.
 * @throws what openHttpSource throws; PackageError for a descriptor over 16 MiB.
 */
async function openUrl(source: string, opts: SourceOptions): Promise<OpenedSource> {
  const opened = await openHttpSource(source, opts.http);
  const label = displayUrl(source);
  const isOvf = /\.ovf$/i.test(new URL(source).pathname) || /\.ovf$/i.test(opened.url.pathname);
  if (opened.kind === 'ranges') {
    const { reader, head } = opened;
    if (head.length >= BLOCK_SIZE && isTarHeaderBlock(head.subarray(0, BLOCK_SIZE))) return { archive: await openOva(label, reader) };
    if (isOvf) return { archive: await openOvfUrl(label, await readSpan({ reader, offset: 0, size: reader.size }, label, DEFAULT_SMALL_MAX), opened.url, opened.session) };
    return { sequential: { source: label, stream: reader.stream(0, reader.size), sizeBytes: reader.size, bytesTransferred: () => opened.session.bytesReceived } };
  }
  if (isOvf) {
    const parts: Buffer[] = [];
    let size = 0;
    for await (const chunk of opened.stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > DEFAULT_SMALL_MAX) {
        opened.stream.destroy();
        throw new PackageError(`${label} is larger than the ${DEFAULT_SMALL_MAX}-byte limit for a descriptor`, { file: label });
      }
      parts.push(chunk);
    }
    return { archive: await openOvfUrl(label, Buffer.concat(parts), opened.url, opened.session) };
  }
  const { stream, sizeBytes, session } = opened;
  return { sequential: { source: label, stream, ...(sizeBytes !== undefined ? { sizeBytes } : {}), bytesTransferred: () => session.bytesReceived } };
}

/**
 * Opens a package for any reader: openArchive's packages, and (URLs only, so far) the ones
 * that can only be read front to back (SequentialSource), for the sequential import.
 * @throws as openArchive.
 */
export async function openSource(source: string, opts: SourceOptions = {}): Promise<OpenedSource> {
  if (isHttpUrl(source)) return openUrl(source, opts);
  return { archive: await openArchive(source, opts) };
}

/**
 * Opens an OVF package (DSP0243 section 5). `source` may be:
 * - an http:// or https:// URL of an OVA, or of a `.ovf` whose files sit beside it (openUrl);
 * - an OVA: a tar file, recognized by a valid tar header at byte 0 whatever its extension;
 * - a `.ovf` descriptor, whose referenced files are looked up beside it;
 * - a directory holding exactly one `*.ovf` file.
 * @param source host path or URL.
 * @param opts HTTP(S) settings for a URL: trusted CAs, header file, timeouts (SourceOptions).
 * @returns the opened package; nothing is extracted or copied.
 * @throws FileError (exit 2) when `source` cannot be opened (missing, no permission);
 *   PackageError (file = `source` or the offending file) when the path cannot be read,
 *   a directory has zero or several `.ovf` files (they are listed), a file is neither a tar
 *   archive nor a `.ovf`, or the OVA is malformed (see indexTar and openOva); for a URL,
 *   TransferError (source/http-request.ts: exit 2 or 5), and UsageError when the package can
 *   only be read front to back (see openSource).
 */
export async function openArchive(source: string, opts: SourceOptions = {}): Promise<Archive> {
  if (isHttpUrl(source)) {
    const opened = await openUrl(source, opts);
    if ('archive' in opened) return opened.archive;
    opened.sequential.stream.destroy();
    throw new UsageError(`${opened.sequential.source}: this package can only be read front to back (the server ignores Range requests, or the package is compressed), and this command needs to read it in place`);
  }
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
