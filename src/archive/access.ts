// Access to package files: checking an ovf:href, then reading its byte range fully or as a stream.

import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { PackageError } from '../errors.js';
import type { ByteRange } from './model.js';
import { checkName, quoteName } from './policy.js';

/** Default ceiling for {@link readRange}, in bytes (16 MiB). */
export const DEFAULT_SMALL_MAX = 16 * 1024 * 1024;

/** Chunk size of range streams, in bytes (1 MiB). */
export const STREAM_CHUNK = 1024 * 1024;

/**
 * Streams bytes `[offset, offset + size)` of a host file, in chunks of 1 MiB.
 * @param path host file; `offset` and `size` are in bytes.
 * @returns an fs.ReadStream over the exact range (an empty stream when `size` is 0).
 *   A file shorter than the range ends the stream early; callers count bytes to notice.
 */
export function streamRange(path: string, offset: number, size: number): Readable {
  if (size === 0) return Readable.from([]);
  return createReadStream(path, { start: offset, end: offset + size - 1, highWaterMark: STREAM_CHUNK });
}

/**
 * Reads bytes `[offset, offset + size)` of a host file into memory.
 * @param path host file; `offset` and `size` are in bytes.
 * @param name the package file being read (ovf:href or member name), for errors.
 * @param maxBytes refuse ranges larger than this many bytes.
 * @returns a Buffer of exactly `size` bytes.
 * @throws PackageError (file = `name`) when `size` exceeds `maxBytes`, the host file cannot
 *   be read, or it ends before the range does.
 */
export async function readRange(path: string, offset: number, size: number, name: string, maxBytes: number): Promise<Buffer> {
  if (size > maxBytes) {
    throw new PackageError(`${name} is ${size} bytes, larger than the ${maxBytes}-byte limit for this kind of file`, { file: name });
  }
  const buffer = Buffer.alloc(size);
  let done = 0;
  try {
    const fh = await open(path, 'r');
    try {
      while (done < size) {
        const { bytesRead } = await fh.read(buffer, done, size - done, offset + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
    } finally {
      await fh.close();
    }
  } catch (cause) {
    throw new PackageError(`${name}: cannot read ${path}: ${(cause as Error).message}`, { file: name, cause });
  }
  if (done < size) {
    throw new PackageError(`${name}: ${path} ended after ${done} of ${size} bytes (truncated)`, { file: name });
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
 * Reading shared by both package kinds: every read goes through `locate`, so a stream and a
 * small read see exactly the byte range the rest of virt-ovf (qemu-img, the manifest) uses.
 */
export abstract class RangeReader {
  /** Where the bytes of `href` are; throws PackageError when the package lacks it. */
  abstract locate(href: string): ByteRange;

  /** A stream over exactly the bytes of `href` (1 MiB chunks). */
  createReadStream(href: string): Readable {
    const { path, offset, size } = this.locate(href);
    return streamRange(path, offset, size);
  }

  /** All bytes of a small file; PackageError above `maxBytes` (default 16 MiB). */
  readSmall(href: string, maxBytes: number = DEFAULT_SMALL_MAX): Promise<Buffer> {
    const { path, offset, size } = this.locate(href);
    return readRange(path, offset, size, href, maxBytes);
  }
}
