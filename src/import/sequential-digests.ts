// Manifest digests of a package read in one pass: every member hashed as it streams by, checked at
// once when the manifest came before it, at the end when the manifest came after (DSP0243 5.1).
import { createHash, type Hash } from 'node:crypto';
import { checkManifestCoverage, parseManifest, type DigestAlgorithm, type ManifestEntry } from '../archive/manifest.js';
import { canonicalName, quoteName } from '../archive/policy.js';
import { ManifestError } from '../errors.js';

/**
 * Algorithms a member is hashed with before the manifest is seen: SHA-256 (DSP0243 2.x, and what
 * ovftool and virt-ovf write) and SHA-1 (DSP0243 1.x). SHA-512 is left out: at a third of their
 * speed it would slow every import; a manifest that arrives after a file and asks SHA-512 for
 * it is refused with that reason.
 */
const BEFORE_MANIFEST: readonly DigestAlgorithm[] = ['sha256', 'sha1'];

/** The digests of the members of one package read in one pass, and the manifest checks over them. */
export class StreamDigests {
  private readonly hashes = new Map<string, Map<DigestAlgorithm, Hash>>();
  private readonly hex = new Map<string, Map<DigestAlgorithm, string>>();
  private manifest: { name: string; entries: ManifestEntry[] } | undefined;

  constructor(private readonly source: string) {}

  /** The manifest (its name and text) once it has passed; members after it are hashed only as it asks. @throws ManifestError when malformed. */
  setManifest(name: string, text: string): void {
    this.manifest = { name, entries: parseManifest(text, name) };
  }

  /** The manifest's entries, once seen. */
  get entries(): readonly ManifestEntry[] | undefined {
    return this.manifest?.entries;
  }

  /** The function that hashes the bytes of member `name` (canonical) as they pass; undefined when no digest of it can be wanted. */
  tap(name: string): ((chunk: Buffer) => void) | undefined {
    const algorithms = this.manifest
      ? [...new Set(this.manifest.entries.filter((e) => canonicalName(e.name) === name).map((e) => e.algorithm))]
      : [...BEFORE_MANIFEST];
    if (algorithms.length === 0) return undefined;
    const hashes = new Map(algorithms.map((a) => [a, createHash(a)] as const));
    this.hashes.set(name, hashes);
    return (chunk) => {
      for (const h of hashes.values()) h.update(chunk);
    };
  }

  /** The hex digest of member `name` with `algorithm`, or undefined when it was not computed. */
  private digest(name: string, algorithm: DigestAlgorithm): string | undefined {
    const done = this.hex.get(name)?.get(algorithm);
    if (done !== undefined) return done;
    const hash = this.hashes.get(name)?.get(algorithm);
    if (hash === undefined) return undefined;
    const value = hash.digest('hex');
    this.hex.set(name, (this.hex.get(name) ?? new Map()).set(algorithm, value));
    return value;
  }

  /**
   * Checks the manifest lines that name `member` (which has been read to its end), as soon as it
   * has passed; nothing when the manifest has not come yet.
   * @throws ManifestError (file = the member) on a digest mismatch.
   */
  checkMember(member: string): void {
    for (const entry of this.manifest?.entries ?? []) if (canonicalName(entry.name) === member) this.checkEntry(entry);
  }

  /**
   * The end-of-stream check: the manifest lists every file the import used (checkManifestCoverage),
   * and every line's digest matches the member's bytes.
   * @param seen canonical names of the members that passed.
   * @throws ManifestError on a missing line, a line naming a file that never came, a digest that
   *   could not be computed (SHA-512 asked after the file passed) or a mismatch.
   */
  checkAll(used: readonly string[], seen: ReadonlySet<string>): number {
    const m = this.manifest!;
    checkManifestCoverage(m.entries, used, m.name);
    for (const entry of m.entries) {
      if (!seen.has(canonicalName(entry.name))) {
        throw new ManifestError(`manifest line ${entry.line} lists ${quoteName(entry.name)}, which is not in ${this.source}`, { file: entry.name });
      }
      this.checkEntry(entry);
    }
    return m.entries.length;
  }

  /**
   * Checks a digest list named after one file (`disk1.mf`, see manifest.ts extraDigestLists): its
   * lines for members that passed; it need not list the descriptor.
   * @throws ManifestError when malformed or on a mismatch.
   */
  checkList(name: string, text: string, seen: ReadonlySet<string>): number {
    const entries = parseManifest(text, name).filter((e) => seen.has(canonicalName(e.name)));
    for (const entry of entries) this.checkEntry(entry);
    return entries.length;
  }

  /** Compares one manifest line with the digest computed over the member's bytes. */
  private checkEntry(entry: ManifestEntry): void {
    const name = canonicalName(entry.name);
    const actual = this.digest(name, entry.algorithm);
    const alg = entry.algorithm.toUpperCase();
    if (actual === undefined) {
      throw new ManifestError(
        `${entry.name}: its ${alg} digest cannot be checked: the manifest came after the file in the stream, and only SHA256 and SHA1 are computed before the manifest is seen; put the manifest before the disks (as ovftool and virt-ovf export do) or use SHA256`,
        { file: entry.name },
      );
    }
    if (actual !== entry.digest) {
      throw new ManifestError(`${entry.name}: ${alg} digest mismatch: the manifest (line ${entry.line}) expects ${entry.digest}, the file has ${actual}`, { file: entry.name });
    }
  }
}
