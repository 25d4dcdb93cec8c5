// Access to package files: checking an ovf:href, then reading its byte range (through a ByteReader) fully or as a stream.

import { Readable } from 'node:stream';
import { PackageError, VirtOvfError } from '../errors.js';
import type { ByteReader } from '../source/reader.js';
import { checkName, quoteName } from './policy.js';

/** Default ceiling for {@link readSpan}, in bytes (16 MiB). */
export const DEFAULT_SMALL_MAX = 16 * 1024 * 1024;

/** Where the bytes of a package file are: a range of a reader (the OVA, or the file itself). Sizes in bytes. */
export interface Span {
  readonly reader: ByteReader;
  readonly offset: number;
  readonly size: number;
}

/**
 * Reads a span into memory.
 * @param name the package file being read (ovf:href or member name), for errors.
 * @param maxBytes refuse spans larger than this many bytes.
 * @returns a Buffer of exactly `span.size` bytes.
 * @throws PackageError (file = `name`) when the span exceeds `maxBytes`, the host file cannot
 *   be read, or it ends before the span does; a transfer error (HttpError) as it is.
 */
export async function readSpan(span: Span, name: string, maxBytes: number): Promise<Buffer> {
  const { reader, offset, size } = span;
  if (size > maxBytes) {
    throw new PackageError(`${name} is ${size} bytes, larger than the ${maxBytes}-byte limit for this kind of file`, { file: name });
  }
  let buffer: Buffer;
  try {
    buffer = await reader.read(offset, size);
  } catch (cause) {
    if (cause instanceof VirtOvfError) throw cause;
    throw new PackageError(`${name}: cannot read ${reader.name}: ${(cause as Error).message}`, { file: name, cause });
  }
  if (buffer.length < size) {
    throw new PackageError(`${name}: ${reader.name} ended after ${buffer.length} of ${size} bytes (truncated)`, { file: name });
  }
  return buffer;
}

/**
 * Validates an ovf:href (DSP0243 section 5: package files are referenced by relative URI)
 * with the package path policy (policy.ts, nameProblem) and returns it in lookup form.
 * Only local relative references are accepted; nothing here touches the network, and
 * references are never percent-decoded.
 * @param href the reference as written in the descriptor or manifest.
 * @param source the package (.ova or .ovf path), for error messages.
 * @returns the canonical name: `./` and empty steps removed (`./a//b` is `a/b`).
 * @throws PackageError (file = `href`) when the reference is empty, names no file (`.`),
 *   contains a control character (NUL included), is an absolute path or a Windows drive
 *   path, is a URL with a scheme (`http://`, `file:`), has a `..` step anywhere, uses
 *   percent-escaped separators or dots, or is longer than 4096 characters.
 */
export function checkHref(href: string, source: string): string {
  const name = checkName(href, source, 'file reference');
  if (name === '.') throw new PackageError(`${source}: file reference ${quoteName(href)} does not name a file`, { file: href });
  return name;
}

/**
 * Reading shared by the package kinds: every read goes through `span`, so a stream and a small
 * read see exactly the byte range the rest of virt-ovf (qemu-img, the manifest) uses.
 */
export abstract class RangeReader {
  /** Where the bytes of `href` are; throws PackageError when the package lacks it. */
  abstract span(href: string): Span;

  /** A stream over exactly the bytes of `href` (1 MiB chunks from a file). */
  createReadStream(href: string): Readable {
    const { reader, offset, size } = this.span(href);
    return size === 0 ? Readable.from([]) : reader.stream(offset, size);
  }

  /** All bytes of a small file; PackageError above `maxBytes` (default 16 MiB). */
  readSmall(href: string, maxBytes: number = DEFAULT_SMALL_MAX): Promise<Buffer> {
    return readSpan(this.span(href), href, maxBytes);
  }
}
