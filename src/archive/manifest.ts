// The OVF manifest (.mf, DSP0243 section 5.1): parsing its digest lines and verifying files against them.

import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { addAbortSignal } from 'node:stream';
import { ManifestError, PackageError } from '../errors.js';
import type { Archive } from './archive.js';

/** One digest line of a manifest. */
export interface ManifestEntry {
  algorithm: 'sha1' | 'sha256' | 'sha512';
  /** File name as written between the parentheses (an ovf:href). */
  name: string;
  /** Expected digest, lower-case hex. */
  digest: string;
  /** 1-based line number in the manifest. */
  line: number;
}

/** Hex digits in a digest of each supported algorithm. */
const HEX_LENGTH: Record<ManifestEntry['algorithm'], number> = { sha1: 40, sha256: 64, sha512: 128 };

/** `ALG(name)= hex`, with optional spaces around `=`; the name runs to the last `)` before `=`. */
const LINE = /^([A-Za-z0-9-]+)\s*\((.+)\)\s*=\s*(\S+)$/;

/**
 * Parses a manifest (DSP0243 section 5.1): one `SHA256(name)= hex` line per file, where the
 * algorithm is SHA1, SHA256 or SHA512 in any case, spaces around `=` are optional, hex digits
 * may be upper- or lower-case, lines may end in CRLF and blank lines are ignored.
 * @param text the manifest's text (UTF-8; a leading BOM is ignored).
 * @param fileName the manifest's name, for errors.
 * @returns one entry per digest line, in file order; digests lower-cased.
 * @throws ManifestError (file = `fileName`) naming the 1-based line number when a line cannot
 *   be parsed, names an unsupported algorithm, or has a digest that is not hex of the length
 *   the algorithm requires (40, 64 or 128 digits).
 */
export function parseManifest(text: string, fileName: string): ManifestEntry[] {
  const entries: ManifestEntry[] = [];
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  lines.forEach((raw, index) => {
    const line = index + 1;
    const content = raw.replace(/\r$/, '').trim();
    if (content === '') return;
    const fail = (why: string): ManifestError =>
      new ManifestError(`${fileName} line ${line}: ${why}: "${content.length > 100 ? `${content.slice(0, 100)}...` : content}"`, { file: fileName });
    const match = LINE.exec(content);
    if (!match) throw fail('not a digest line of the form SHA256(name)= hex');
    const [, alg = '', name = '', hex = ''] = match;
    const algorithm = alg.toLowerCase();
    if (!(algorithm === 'sha1' || algorithm === 'sha256' || algorithm === 'sha512')) {
      throw fail(`unsupported digest algorithm ${alg} (SHA1, SHA256 or SHA512 expected)`);
    }
    if (!/^[0-9A-Fa-f]+$/.test(hex)) throw fail('the digest is not hexadecimal');
    if (hex.length !== HEX_LENGTH[algorithm]) {
      throw fail(`a ${alg.toUpperCase()} digest has ${HEX_LENGTH[algorithm]} hex digits, this one has ${hex.length}`);
    }
    entries.push({ algorithm, name, digest: hex.toLowerCase(), line });
  });
  return entries;
}

/**
 * Finds the package's manifest (DSP0243 section 5.1): the file named like the descriptor with
 * `.mf` in place of `.ovf`, else the only `*.mf` file of the package.
 * @returns its name (an href for the archive), or undefined when there is none or several candidates.
 */
export function findManifest(archive: Archive): string | undefined {
  const base = posix.basename(archive.descriptorName);
  for (const ext of ['.mf', '.MF']) {
    const candidate = base.replace(/\.ovf$/i, ext);
    if (candidate !== base && archive.find(candidate)) return candidate;
  }
  const all = archive.entries().filter((e) => /\.mf$/i.test(e.name));
  return all.length === 1 ? all[0]?.name : undefined;
}

/**
 * Hashes `href` in one pass over archive.createReadStream(href) and compares (constant memory).
 * @param entry the manifest line to check; its digest is lower-case hex.
 * @param onProgress called after each chunk with the bytes hashed so far.
 * @param signal aborting it stops reading; the promise then rejects with `signal.reason`.
 * @throws ManifestError (file = entry.name) when the file is absent from the package, or on
 *   mismatch, naming the file, the expected and the actual digests.
 * @throws PackageError (file = entry.name) when the file cannot be read or is shorter than its
 *   recorded size.
 */
export async function verifyEntry(
  archive: Archive,
  entry: ManifestEntry,
  onProgress?: (bytesDone: number) => void,
  signal?: AbortSignal,
): Promise<void> {
  signal?.throwIfAborted();
  const found = archive.find(entry.name);
  if (!found) {
    throw new ManifestError(`manifest line ${entry.line} lists "${entry.name}", which is not in ${archive.source}`, { file: entry.name });
  }
  const hash = createHash(entry.algorithm);
  const stream = archive.createReadStream(entry.name);
  if (signal) addAbortSignal(signal, stream);
  let done = 0;
  let inCallback = false;
  try {
    for await (const chunk of stream) {
      hash.update(chunk as Buffer);
      done += (chunk as Buffer).length;
      inCallback = true;
      onProgress?.(done);
      inCallback = false;
    }
  } catch (cause) {
    if (signal?.aborted) throw signal.reason;
    if (inCallback) throw cause;
    throw new PackageError(`${entry.name}: reading failed after ${done} bytes: ${(cause as Error).message}`, { file: entry.name, cause });
  } finally {
    stream.destroy();
  }
  signal?.throwIfAborted();
  if (done !== found.size) {
    throw new PackageError(`${entry.name}: only ${done} of ${found.size} bytes could be read (truncated)`, { file: entry.name });
  }
  const actual = hash.digest('hex');
  if (actual !== entry.digest) {
    throw new ManifestError(
      `${entry.name}: ${entry.algorithm.toUpperCase()} digest mismatch: the manifest (line ${entry.line}) expects ${entry.digest}, the file has ${actual}`,
      { file: entry.name },
    );
  }
}
