// The OVF manifest (.mf, DSP0243 section 5.1), both ways: parsing its digest lines and verifying
// files against them, and formatting the manifest export writes.

import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { addAbortSignal } from 'node:stream';
import { ManifestError, PackageError, VirtOvfError } from '../errors.js';
import type { Archive } from './model.js';
import { canonicalName, nameProblem, quoteName } from './policy.js';

/** Manifest digest algorithms (DSP0243 5.1). */
export type DigestAlgorithm = 'sha1' | 'sha256' | 'sha512';

/** One digest line of a manifest. */
export interface ManifestEntry {
  algorithm: DigestAlgorithm;
  /** File name as written between the parentheses (an ovf:href). */
  name: string;
  /** Expected digest, lower-case hex. */
  digest: string;
  /** 1-based line number in the manifest. */
  line: number;
}

/** Hex digits in a digest of each supported algorithm. */
const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha1: 40, sha256: 64, sha512: 128 };

/**
 * Splits a trimmed line `ALG(name)= hex` (optional spaces around `=`) into its three parts, in
 * linear time: the digest follows the last `=`, the name runs from the first `(` to the `)`
 * that ends the text before that `=`. (A regular expression with a greedy name was quadratic
 * on lines such as `SHA256()=)=)=...`: 160 KB took seven seconds.)
 * @returns undefined when the line does not have that shape.
 */
function splitLine(content: string): [alg: string, name: string, hex: string] | undefined {
  const eq = content.lastIndexOf('=');
  if (eq < 0) return undefined;
  const hex = content.slice(eq + 1).trim();
  const head = content.slice(0, eq).trimEnd();
  const open = head.indexOf('(');
  if (hex === '' || /\s/.test(hex) || open < 0 || !head.endsWith(')')) return undefined;
  const alg = head.slice(0, open).trimEnd();
  const name = head.slice(open + 1, -1);
  if (!/^[A-Za-z0-9-]+$/.test(alg) || name === '' || /[\r\u2028\u2029]/.test(name)) return undefined;
  return [alg, name, hex];
}

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
    const match = splitLine(content);
    if (!match) throw fail('not a digest line of the form SHA256(name)= hex');
    const [alg, name, hex] = match;
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
 * Finds a package file by extension (DSP0243 section 5.1 names the manifest and certificate
 * like the descriptor): the descriptor's base name with `ext`, else the only such file at the
 * top level of the package (files in subdirectories are not candidates) that is not named after
 * another file of the package (`disk1.mf` beside `disk1.vmdk`, or `disk1.vmdk.mf`: a digest
 * list of that file, not the package's manifest; virt-v2v reads such files as extra digests, and
 * ovftool looks only for the descriptor's name).
 * @returns the file's name (an href for the archive), or undefined when there is none.
 * @throws PackageError (file = the package) when several candidates exist and none is named
 *   like the descriptor, since picking one silently could skip the one that matters; and as
 *   Archive.find does for a refused candidate (a symlinked `vm.mf` in a directory package).
 */
export function findCompanion(archive: Archive, ext: '.mf' | '.cert'): string | undefined {
  const base = posix.basename(archive.descriptorName);
  for (const e of [ext, ext.toUpperCase()]) {
    const candidate = base.replace(/\.ovf$/i, e);
    if (candidate !== base && archive.find(candidate)) return candidate;
  }
  const all = archive.entries().filter((e) => !e.name.includes('/') && e.name.toLowerCase().endsWith(ext) && fileNamedAfter(archive, e.name) === undefined);
  if (all.length > 1) {
    throw new PackageError(`${archive.source}: several ${ext} files (${all.map((e) => e.name).join(', ')}) and none named after ${base}; cannot tell which applies`, { file: archive.source });
  }
  return all[0]?.name;
}

/**
 * The other package file a companion is named after, if any: `disk1.mf` names `disk1.vmdk`
 * (same base name, another extension), `disk1.vmdk.mf` names `disk1.vmdk`. The descriptor and
 * other companions (.mf, .cert) do not count.
 */
export function fileNamedAfter(archive: Archive, companion: string): string | undefined {
  const stem = companion.replace(/\.[^.]*$/, '');
  const descriptor = posix.basename(archive.descriptorName);
  return archive
    .entries()
    .map((e) => e.name)
    .find((n) => n !== companion && n !== descriptor && !/\.(mf|cert)$/i.test(n) && (n === stem || n.replace(/\.[^.]*$/, '') === stem));
}

/**
 * Finds the package's manifest (DSP0243 section 5.1): the file named like the descriptor with
 * `.mf` in place of `.ovf`, else the only other `*.mf` file at the top level of the package that
 * is not named after one of its files (see findCompanion).
 * @returns its name (an href for the archive), or undefined when there is none.
 * @throws PackageError when there are several candidates and none is named like the descriptor.
 */
export function findManifest(archive: Archive): string | undefined {
  return findCompanion(archive, '.mf');
}

/**
 * The `.mf` files at the top level that are not the package's manifest: digest lists named after
 * one file (`disk1.mf`). Import checks the digests they give (as virt-v2v does with every `.mf`)
 * but does not require them to list the descriptor.
 */
export function extraDigestLists(archive: Archive, manifest: string | undefined): string[] {
  return archive
    .entries()
    .map((e) => e.name)
    .filter((n) => !n.includes('/') && n !== manifest && /\.mf$/i.test(n) && fileNamedAfter(archive, n) !== undefined);
}

/**
 * Checks that a manifest covers an import (DSP0243 section 5.1, made strict): every file the
 * import reads must be listed, and no file may be listed twice with different digests.
 * Names are compared in canonical form (`./disk.vmdk` is `disk.vmdk`), case-sensitively.
 * A file listed under two algorithms (SHA1 and SHA256) is accepted; both are verified.
 * @param entries parseManifest output.
 * @param usedNames every file the import reads: the descriptor, each disk and ISO (for a
 *   chunked file, each chunk `href.000000000`, ...).
 * @param manifestName the manifest's name, for messages.
 * @throws ManifestError (file = `manifestName`) when a listed name is refused by the path
 *   policy (policy.ts, nameProblem) or a name is listed twice under one algorithm with
 *   different digests; ManifestError (file = the unlisted name) when a used file is not listed.
 */
export function checkManifestCoverage(entries: readonly ManifestEntry[], usedNames: readonly string[], manifestName: string): void {
  const listed = new Map<string, ManifestEntry>();
  for (const entry of entries) {
    const why = nameProblem(entry.name);
    if (why !== undefined) throw new ManifestError(`${manifestName} line ${entry.line}: file name ${quoteName(entry.name)} ${why}`, { file: manifestName });
    const key = `${entry.algorithm}:${canonicalName(entry.name)}`;
    const first = listed.get(key);
    if (first && first.digest !== entry.digest) {
      throw new ManifestError(
        `${manifestName}: ${quoteName(entry.name)} is listed twice with different ${entry.algorithm.toUpperCase()} digests (line ${first.line}: ${first.digest}, line ${entry.line}: ${entry.digest})`,
        { file: manifestName },
      );
    }
    if (!first) listed.set(key, entry);
  }
  const names = new Set(entries.map((e) => canonicalName(e.name)));
  for (const used of usedNames) {
    if (!names.has(canonicalName(used))) {
      throw new ManifestError(`${manifestName} does not list ${quoteName(used)}, which the import reads; every file used must have a digest in the manifest`, { file: used });
    }
  }
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
  checkDigest(entry, found.size, done, hash.digest('hex'));
}

/**
 * Judges a member's digest computed over `bytesRead` of its `sizeBytes` bytes against its manifest entry.
 * @throws PackageError when fewer bytes were read (truncated); ManifestError on a digest mismatch.
 */
export function checkDigest(entry: ManifestEntry, sizeBytes: number, bytesRead: number, actual: string): void {
  if (bytesRead !== sizeBytes) {
    throw new PackageError(`${entry.name}: only ${bytesRead} of ${sizeBytes} bytes could be read (truncated)`, { file: entry.name });
  }
  if (actual !== entry.digest) {
    throw new ManifestError(
      `${entry.name}: ${entry.algorithm.toUpperCase()} digest mismatch: the manifest (line ${entry.line}) expects ${entry.digest}, the file has ${actual}`,
      { file: entry.name },
    );
  }
}

/** The algorithm's name as a manifest line spells it (SHA256). */
const label = (algorithm: DigestAlgorithm): string => algorithm.toUpperCase();

/**
 * The manifest text (DSP0243 5.1): one `SHA256(name)= hex` line per file, LF-terminated,
 * in the order given, as ovftool writes it and {@link parseManifest} reads it.
 * @throws VirtOvfError when a digest is not lower-case hex of the algorithm's length.
 */
export function formatManifest(algorithm: DigestAlgorithm, entries: readonly { readonly name: string; readonly digest: string }[]): Buffer {
  const digits = new RegExp(`^[0-9a-f]{${HEX_LENGTH[algorithm]}}$`);
  return Buffer.from(
    entries
      .map(({ name, digest }) => {
        if (!digits.test(digest)) throw new VirtOvfError(`manifest: the ${label(algorithm)} digest of ${name} is not ${HEX_LENGTH[algorithm]} hex digits`);
        return `${label(algorithm)}(${name})= ${digest}\n`;
      })
      .join(''),
    'utf8',
  );
}

/** Length in bytes of the manifest {@link formatManifest} writes for `names`: known before any digest, so it can be reserved. */
export function manifestSize(algorithm: DigestAlgorithm, names: readonly string[]): number {
  return names.reduce((sum, name) => sum + Buffer.byteLength(`${label(algorithm)}(${name})= \n`) + HEX_LENGTH[algorithm], 0);
}
