// One References/File as a byte stream, read once: its stored parts (the member, or its
// ovf:chunkSize chunks) joined on the fly, each part hashed as it passes for the manifest,
// inflated on the fly when ovf:compression="gzip" (node:zlib), capped in length.
import { pipeline, Readable, Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Archive } from '../archive/model.js';
import { chunkName, type StoredFile } from '../archive/chunks.js';
import { PackageError, VirtOvfError } from '../errors.js';
import type { OvfFile } from '../ovf/model.js';
import { fileChunks } from './file-chunks.js';

/** A running digest of one package member, fed with every byte of it in order. */
export interface MemberTap {
  update(chunk: Uint8Array): void;
  /** The member ended after `bytes` bytes: the digest is complete. */
  end(bytes: number): void;
  /** The member was not read to its end: no digest. */
  abandon(): void;
}

/** Who wants the digests of the members read (import/digests.ts): a tap for `name`, or undefined when nobody does. */
export interface MemberTaps {
  tap(name: string): MemberTap | undefined;
}

/** The refusal of a file whose compression virt-ovf does not know (DSP0243 defines only gzip). */
export function checkCompression(file: OvfFile): void {
  if (file.compression !== undefined && file.compression !== 'gzip') {
    throw new PackageError(`File "${file.href}": unknown ovf:compression "${file.compression}" (only gzip is defined)`, { file: file.href });
  }
}

/**
 * The stored bytes of `file`: its parts read from `archive` one after the other, each hashed
 * through `taps` (a part's tap ends when its last byte has passed, or is abandoned when the
 * stream stops early), or `input` when given (the stored bytes from elsewhere, not hashed here).
 * With `reuse`, a part the archive holds in a local file is read through fileChunks: each chunk
 * is valid only until the next one is asked for (fit for a consumer that never holds a chunk:
 * the decoder, copyRaw, imageBytes of an uncompressed file); else each chunk is its own buffer.
 * @throws PackageError (on iteration) when a chunked file has no parts.
 */
export async function* storedBytes(archive: Archive, stored: StoredFile, opts: { input?: AsyncIterable<Uint8Array>; taps?: MemberTaps; reuse?: boolean }): AsyncGenerator<Uint8Array> {
  if (opts.input) {
    yield* opts.input;
    return;
  }
  if (stored.parts.length === 0) throw new PackageError(`File "${stored.href}": no ${stored.chunked ? `chunk ${chunkName(stored.href, 0)}` : 'such file'} in the package`, { file: stored.href });
  for (const part of stored.parts) {
    const tap = opts.taps?.tap(part.name);
    let bytes = 0;
    let ended = false;
    try {
      for await (const chunk of partBytes(archive, part.name, opts.reuse === true)) {
        tap?.update(chunk);
        bytes += chunk.length;
        yield chunk;
      }
      ended = true;
      tap?.end(bytes);
    } finally {
      if (!ended) tap?.abandon();
    }
  }
}

/** The bytes of one package member: fileChunks over its local range when `reuse` and the archive is local, else archive.createReadStream. */
function partBytes(archive: Archive, name: string, reuse: boolean): AsyncIterable<Uint8Array> {
  if (!reuse || (archive as { readonly local?: boolean }).local === false) return archive.createReadStream(name) as AsyncIterable<Buffer>;
  const range = archive.locate(name);
  return fileChunks(range.path, range.offset, range.size);
}

/** A Transform that fails with `error()` once more than `maxBytes` passed through it. */
export function byteCap(maxBytes: number, error: () => Error): Transform {
  let passed = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      passed += chunk.length;
      if (passed > maxBytes) done(error());
      else done(null, chunk);
    },
  });
}

/** The refusal of a file that expands beyond `maxBytes`. */
export function expandsBeyond(file: OvfFile, maxBytes: number): PackageError {
  return new PackageError(`File "${file.href}": expands beyond ${maxBytes} bytes, more than its disk can hold`, { file: file.href });
}

/**
 * The file's bytes as the image holds them: `stored` inflated when the file is gzip-compressed,
 * capped at `maxBytes`. Ending the iteration early stops the reads.
 * @throws PackageError (on iteration): "cannot decompress it" for a corrupt gzip stream (or
 *   "cannot join it" for a failed read), "expands beyond" past maxBytes; a read's VirtOvfError
 *   (TransferError of a URL) as it is.
 */
export async function* imageBytes(file: OvfFile, stored: AsyncIterable<Uint8Array>, maxBytes: number): AsyncGenerator<Uint8Array> {
  if (file.compression === undefined) {
    // No stream stages: each chunk passes straight through (fileChunks' reused buffers stay valid).
    let passed = 0;
    try {
      for await (const chunk of stored) {
        passed += chunk.length;
        if (passed > maxBytes) throw expandsBeyond(file, maxBytes);
        yield chunk;
      }
    } catch (err) {
      // A PackageError, an abort, or a URL's TransferError (exit 5: the transfer failed) as it is.
      if (err instanceof VirtOvfError || (err as Error).name === 'AbortError') throw err;
      throw new PackageError(`File "${file.href}": cannot join it: ${(err as Error).message}`, { file: file.href, cause: err });
    }
    return;
  }
  const stages: NodeJS.ReadWriteStream[] = file.compression === 'gzip' ? [createGunzip()] : [];
  const out = pipeline([Readable.from(stored, { objectMode: false }), ...stages, byteCap(maxBytes, () => expandsBeyond(file, maxBytes))], () => undefined) as unknown as Readable;
  try {
    for await (const chunk of out as AsyncIterable<Buffer>) yield chunk;
  } catch (err) {
    // A PackageError, an abort, or a URL's TransferError (exit 5: the transfer failed) as it is.
    if (err instanceof VirtOvfError || (err as Error).name === 'AbortError') throw err;
    throw new PackageError(`File "${file.href}": cannot ${file.compression === 'gzip' ? 'decompress' : 'join'} it: ${(err as Error).message}`, { file: file.href, cause: err });
  } finally {
    out.destroy();
  }
}

/**
 * Reads the first `n` bytes of `stream` (fewer when it is shorter) and returns them with an
 * iterable of the whole stream, those bytes included, so nothing is read twice.
 */
export async function peek(stream: AsyncIterable<Uint8Array>, n: number): Promise<{ head: Buffer; bytes: AsyncIterable<Uint8Array>; iterator: AsyncIterator<Uint8Array> }> {
  const iterator = stream[Symbol.asyncIterator]();
  const first: Uint8Array[] = [];
  let have = 0;
  while (have < n) {
    const next = await iterator.next();
    if (next.done) break;
    // Held across the next pull: a copy (the stream may reuse its buffers).
    first.push(Uint8Array.prototype.slice.call(next.value));
    have += next.value.length;
  }
  const head = Buffer.concat(first).subarray(0, n);
  async function* again(): AsyncGenerator<Uint8Array> {
    yield* first;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }
  return { head, bytes: again(), iterator };
}
