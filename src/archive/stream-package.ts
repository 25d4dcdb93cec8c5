// A package read in one pass: which sources are read so, how their bytes are unpacked into
// members, and the Archive (model.ts) the planner sees while the members are still to come.
import { createReadStream, fstatSync, statSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { PackageError } from '../errors.js';
import { decompress, detectPacking, MAGIC_BYTES, type Packing } from '../source/decompress.js';
import { SequentialReader, type StreamMember } from '../source/sequential-reader.js';
import { isStdin, openStdin } from '../source/stdin.js';
import { readZipCentral } from '../source/zip-central.js';
import { readZipStream, type ZipMember } from '../source/zip-stream.js';
import { checkHref, DEFAULT_SMALL_MAX } from './access.js';
import type { Archive, ArchiveEntry, ByteRange } from './model.js';
import { canonicalName, describeMissing, memberChecker } from './policy.js';
import { readTarStream } from './tar-stream.js';

/** Reading chunk of a local file read in one pass, in bytes (1 MiB). */
const FILE_CHUNK = 1024 * 1024;

/**
 * How `source` is read: `sequential` for standard input (`-`) and for a local file packed as a
 * gzip-, xz- or zstd-compressed tar or a zip (no random access into them); `indexed` for
 * anything else (a tar read in place, an .ovf, a directory, a URL: archive/archive.ts).
 */
export async function readingMode(source: string): Promise<'sequential' | 'indexed'> {
  if (isStdin(source)) return 'sequential';
  const head = await firstBytes(source);
  return head !== undefined && detectPacking(head) !== 'none' ? 'sequential' : 'indexed';
}

/** The first bytes of a regular file, or undefined when it is not one or cannot be read (the indexed picker then says why). */
async function firstBytes(path: string): Promise<Buffer | undefined> {
  try {
    const fh = await open(path, 'r');
    try {
      if (!(await fh.stat()).isFile()) return undefined;
      const head = Buffer.alloc(MAGIC_BYTES);
      const { bytesRead } = await fh.read(head, 0, MAGIC_BYTES, 0);
      return head.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch {
    return undefined;
  }
}

/**
 * The raw bytes of a sequential source, standard input or the file, and their length in bytes
 * when known (a file, or standard input redirected from one; 0 for a pipe).
 * @throws UsageError for a terminal on standard input.
 */
export function openSequentialInput(source: string): { input: Readable; totalBytes: number } {
  if (!isStdin(source)) return { input: createReadStream(source, { highWaterMark: FILE_CHUNK }), totalBytes: sizeOf(() => statSync(source)) };
  const input = openStdin();
  return { input, totalBytes: sizeOf(() => fstatSync(0)) };
}

/** The size of a regular file, else 0. */
function sizeOf(stat: () => Stats): number {
  try {
    const st = stat();
    return st.isFile() ? st.size : 0;
  } catch {
    return 0;
  }
}

/** A package being read in one pass. */
export interface StreamPackage {
  readonly packing: Packing;
  /** The members in archive order; each must be read or drained before the next. */
  readonly members: AsyncGenerator<StreamMember>;
  /** Bytes read from the source so far (before decompression). */
  bytesRead(): number;
  /** Stops reading: the source fails with `reason`, so a read waiting on it (a stalled pipe) ends. */
  abort(reason: Error): void;
}

/**
 * Unpacks `input` into its members as they pass: the packing is told by the first bytes
 * (decompress.ts detectPacking), a compressed tar is decompressed on the fly and read by
 * readTarStream, a zip by readZipStream (with the central directory of a zip file on disk,
 * zip-central.ts, for members whose sizes follow their data), a plain tar directly.
 * @param source the package's name for messages (`-`, a path or URL).
 * @param tap gives a function called with each chunk of a member's bytes (digests), or none.
 * @param onRead called with the bytes read from `input` so far (progress).
 * @throws PackageError (file = `source`) when the bytes are no package (not a tar after
 *   decompression); the members' iterator throws what the readers throw.
 */
export async function openStreamPackage(input: Readable, source: string, tap: (name: string) => ((chunk: Buffer) => void) | undefined, onRead?: (bytes: number) => void): Promise<StreamPackage> {
  const raw = new SequentialReader(input, onRead);
  const packing = detectPacking(await raw.peek(MAGIC_BYTES));
  const bytesRead = (): number => raw.position;
  const abort = (reason: Error): void => void input.destroy(reason);
  if (packing === 'zip') {
    // A zip file on disk has its central directory: the sizes of members whose local header defers them.
    const central = sizeOf(() => statSync(source)) > 0 ? await readZipCentral(source) : undefined;
    return { packing, members: checkedZip(readZipStream(raw, source, (n) => tap(canonicalName(n)), central), source), bytesRead, abort };
  }
  if (packing === 'none') return { packing, members: readTarStream(raw, source, tap), bytesRead, abort };
  async function* rawChunks(): AsyncGenerator<Buffer> {
    for (;;) {
      const chunk = await raw.readExact(FILE_CHUNK);
      if (chunk.length === 0) return;
      yield chunk;
    }
  }
  const tar = new SequentialReader(decompress(Readable.from(rawChunks(), { objectMode: false }), packing, source));
  return { packing, members: readTarStream(tar, source, tap), bytesRead, abort };
}

/** The file members of a zip, through the package policy (policy.ts memberChecker) as tar members are; directories drained. */
async function* checkedZip(members: AsyncGenerator<ZipMember>, source: string): AsyncGenerator<StreamMember> {
  const check = memberChecker(source);
  for await (const m of members) {
    check({ name: m.name, rawName: m.rawName, offset: 0, size: m.size, type: m.isDirectory ? 'directory' : 'file', typeflag: m.isDirectory ? '5' : '0' });
    if (!m.isDirectory) yield { ...m, name: canonicalName(m.rawName) };
  }
}

/**
 * The Archive of a package read in one pass, as the planner sees it once the descriptor (the
 * first member) is in hand: the files the descriptor references are taken as present (their
 * declared size, ovf:size, or 0) until the stream proves otherwise; the members seen so far
 * are listed with their real sizes; the manifest and certificate are kept in memory as they
 * pass (readSmall). Nothing has a byte range: locate, locatePadded and createReadStream throw.
 */
export class StreamArchive implements Archive {
  readonly kind = 'ova' as const;
  readonly directory = undefined;
  /** Read in one pass: no member has a host byte range. */
  readonly local = false;
  /** Bytes read from the source so far, when the one-pass reader counts them (a URL without ranges). */
  bytesTransferred = 0;
  private readonly seen = new Map<string, { size: number; data?: Buffer }>();

  constructor(
    readonly source: string,
    readonly descriptorName: string,
    private readonly descriptor: Buffer,
    /** Canonical names the descriptor references (chunks named), with ovf:size when given. */
    private readonly declared: ReadonlyMap<string, number | undefined>,
  ) {
    this.seen.set(descriptorName, { size: descriptor.length, data: descriptor });
  }

  /** Records a member that passed; `data` keeps a small file (manifest, certificate) for readSmall. */
  noteMember(name: string, size: number, data?: Buffer): void {
    this.seen.set(name, { size, ...(data ? { data } : {}) });
  }

  /** True once a member of that canonical name has passed. */
  hasSeen(name: string): boolean {
    return this.seen.has(name);
  }

  async readDescriptor(): Promise<Buffer> {
    return this.descriptor;
  }

  entries(): ArchiveEntry[] {
    const names = new Set([...this.seen.keys(), ...this.declared.keys()]);
    return [...names].map((name) => ({ name, size: this.seen.get(name)?.size ?? this.declared.get(name) ?? 0 }));
  }

  find(href: string): ArchiveEntry | undefined {
    const name = checkHref(href, this.source);
    const seen = this.seen.get(name);
    if (seen) return { name, size: seen.size };
    return this.declared.has(name) ? { name, size: this.declared.get(name) ?? 0 } : undefined;
  }

  locate(href: string): ByteRange {
    if (this.find(href) === undefined) throw new PackageError(describeMissing(this, href), { file: href });
    throw new PackageError(`${this.source}: "${href}" is read in one pass from a stream; it has no byte range to read again`, { file: href });
  }

  async locatePadded(href: string): Promise<ByteRange> {
    return this.locate(href);
  }

  createReadStream(href: string): Readable {
    this.locate(href);
    throw new Error('unreachable');
  }

  async readSmall(href: string, maxBytes: number = DEFAULT_SMALL_MAX): Promise<Buffer> {
    const name = checkHref(href, this.source);
    const data = this.seen.get(name)?.data;
    if (data === undefined) return this.locate(href) as never;
    if (data.length > maxBytes) throw new PackageError(`${href} is ${data.length} bytes, larger than the ${maxBytes}-byte limit for this kind of file`, { file: href });
    return data;
  }
}
