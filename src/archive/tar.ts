// Header-only indexing of a tar file: where each member's data lies, without extracting anything.

import { PackageError, VirtOvfError } from '../errors.js';
import { withFileReader, type ByteReader } from '../source/reader.js';
import { BLOCK_SIZE, decodeHeader, isTarHeaderBlock, isZeroBlock, paddedSize, parsePaxRecords } from './tar-format.js';

/** One member of a tar file. */
export interface TarMember {
  /** Member name after GNU/pax overrides, with any leading `./` removed (`.` if nothing is left). */
  name: string;
  /** Member name exactly as the archive gives it (after GNU/pax overrides, before normalization). */
  rawName: string;
  /** Byte offset of the member's data in the tar file. */
  offset: number;
  /** Length of the member's data in bytes (0 for directories and links). */
  size: number;
  type: 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';
  /** The header's `typeflag` as a one-character string (`'\0'` for old v7 files). */
  typeflag: string;
  /** Target of a symlink or hardlink, as stored. */
  linkName?: string;
  /** The name field of the header block itself, when a GNU long name or pax `path` replaced it. */
  headerName?: string;
  /** True for a pax-format GNU sparse member (`GNU.sparse.*` records): its data is a sparse map, not the file. */
  sparse?: boolean;
}

/** The members of a tar file, in archive order (duplicates kept). */
export interface TarIndex {
  members: TarMember[];
}

/** Largest GNU long-name/long-link or pax extended header accepted, in bytes. */
const MAX_EXTENSION_BYTES = 8 * 1024 * 1024;

/** Type flags whose members carry no data blocks (POSIX ustar: size is ignored for them). */
const NO_DATA_FLAGS = new Set(['1', '2', '3', '4', '5', '6']);

/** Pax keywords whose global ('g') use would change how members are located or named. */
const GLOBAL_FORBIDDEN = /^(path|linkpath|size|GNU\.sparse\..*)$/;

/** Overrides collected from GNU 'L'/'K' and pax 'x' headers for the next real header. */
interface Pending {
  longName?: string;
  longLink?: string;
  pax?: Map<string, string>;
}

/** Maps a ustar/GNU type flag (and, for old archives, a trailing slash) to a member type. */
function memberType(flag: string, name: string): TarMember['type'] {
  if (flag === '0' || flag === '\0' || flag === '7') return name.endsWith('/') ? 'directory' : 'file';
  if (flag === '5' || flag === 'D') return 'directory';
  if (flag === '2') return 'symlink';
  if (flag === '1') return 'hardlink';
  return 'other';
}

/** Strips leading `./` components from a member name. */
function normalizeName(raw: string): string {
  let name = raw;
  while (name.startsWith('./')) name = name.slice(2).replace(/^\/+/, '');
  return name === '' || name === '.' ? '.' : name;
}

/**
 * Lists the members of a tar file by reading only its headers (data blocks are skipped by
 * size, never read). Understands POSIX ustar (prefix + name) and old v7 headers, GNU tar
 * long-name ('L') and long-link ('K') headers, pax extended headers ('x': `path`, `linkpath`,
 * `size`) and pax global headers ('g', skipped unless they set a keyword listed below), per
 * IEEE 1003.1-2008 "pax Interchange Format".
 * Numeric fields may be octal or GNU base-256. Reading stops at the first zero block or at
 * end of file. The index is neutral: hostile names, links, sparse members and duplicates are
 * reported as they are, and refused by the package policy (policy.ts, checkMembers).
 * @param source host path of the tar file, or a reader over it (a URL: source/http-reader.ts).
 * @returns members in archive order; offsets and sizes are in bytes.
 * @throws the reader's transfer error (HttpError) as it is; PackageError (file = the path or
 *   URL) when the file cannot be read, is empty, its first
 *   header is invalid ("not a tar archive"), a later header has a bad checksum or is cut
 *   short, an extension header is malformed or oversized, a pax `size` is not a decimal
 *   integer, a member is an old-style GNU sparse file (type 'S', whose extension blocks make
 *   the layout unreliable), a pax global header sets `path`, `linkpath`, `size` or
 *   `GNU.sparse.*` (this reader would otherwise ignore it and see another archive than other
 *   readers do), or a member's data runs past the end of the file (truncated archive).
 */
export async function indexTar(source: string | ByteReader): Promise<TarIndex> {
  const path = typeof source === 'string' ? source : source.name;
  let opened = false;
  try {
    if (typeof source !== 'string') return await walk(source);
    return await withFileReader(source, (reader) => {
      opened = true;
      return walk(reader);
    });
  } catch (cause) {
    if (cause instanceof VirtOvfError) throw cause;
    throw new PackageError(`${path}: cannot ${opened || typeof source !== 'string' ? 'read' : 'open'}: ${(cause as Error).message}`, { file: path, cause });
  }
}

/** The header loop of {@link indexTar}: every member of the file, read through {@link tarMembers}. */
async function walk(reader: ByteReader): Promise<TarIndex> {
  const path = reader.name;
  if (reader.size === 0) throw new PackageError(`${path}: not a tar archive: the file is empty`, { file: path });
  const members: TarMember[] = [];
  for await (const m of tarMembers((at, length) => reader.read(at, length), path, reader.size)) members.push(m);
  return { members };
}

/**
 * The members of a tar archive as its headers are read, in archive order (see indexTar for the
 * formats understood and the checks made). The reads only go forward: between two members the
 * caller may consume the member's data, so a stream serves as well as a file.
 * @param read up to `length` bytes at byte `offset`, fewer only at the end of the archive;
 *   offsets never decrease and never fall inside data already passed.
 * @param path the archive's name, for messages.
 * @param size the archive's length in bytes when known (a member running past it is refused
 *   as truncated at once); undefined for a stream (the member's reader notices).
 * @throws PackageError (file = `path`) as indexTar.
 */
export async function* tarMembers(read: (offset: number, length: number) => Promise<Buffer>, path: string, size: number | undefined): AsyncGenerator<TarMember> {
  const fail = (why: string): PackageError => new PackageError(`${path}: ${why}`, { file: path });
  let pending: Pending = {};
  let pos = 0;
  for (;;) {
    const block = await read(pos, BLOCK_SIZE);
    if (pos === 0 && block.length === 0) throw fail('not a tar archive: the file is empty');
    if (block.length === 0 || (block.length === BLOCK_SIZE && isZeroBlock(block))) break;
    if (pos === 0 && !isTarHeaderBlock(block)) throw fail('not a tar archive (no valid tar header at byte 0)');
    if (block.length < BLOCK_SIZE) throw fail(`truncated archive: the header at byte ${pos} is cut short`);
    if (!isTarHeaderBlock(block)) throw fail(`bad tar header checksum at byte ${pos}`);
    const raw = decodeHeader(block, path, pos);
    const dataStart = pos + BLOCK_SIZE;
    const flag = raw.typeflag;
    // Old GNU sparse headers may be followed by extension blocks that are not data: stop here.
    if (flag === 'S') throw fail(`member ${JSON.stringify(pending.longName ?? raw.name)} (header at byte ${pos}) is a GNU sparse file (type 'S'); sparse members are refused`);
    const isExtension = flag === 'L' || flag === 'K' || flag === 'x' || flag === 'g';
    const paxSize = nonEmpty(pending.pax?.get('size'));
    if (paxSize !== undefined && !/^[0-9]{1,16}$/.test(paxSize)) throw fail(`bad pax size for the member at byte ${pos}`);
    const dataSize = isExtension ? raw.size : NO_DATA_FLAGS.has(flag) ? 0 : Number(paxSize ?? raw.size);
    if (!Number.isSafeInteger(dataSize)) throw fail(`bad pax size for the member at byte ${pos}`);
    if (size !== undefined && dataStart + dataSize > size) {
      throw fail(`truncated archive: the data of "${raw.name}" (header at byte ${pos}, ${dataSize} bytes) runs past the end of the file`);
    }
    pos = dataStart + paddedSize(dataSize);
    if (isExtension) {
      if (dataSize > MAX_EXTENSION_BYTES) throw fail(`extension header at byte ${dataStart - BLOCK_SIZE} is larger than ${MAX_EXTENSION_BYTES} bytes`);
      const data = await read(dataStart, dataSize);
      if (data.length < dataSize) throw fail(`truncated archive: the extension header at byte ${dataStart - BLOCK_SIZE} is cut short`);
      if (flag === 'g') {
        const key = [...parsePaxRecords(data, path, dataStart - BLOCK_SIZE).keys()].find((k) => GLOBAL_FORBIDDEN.test(k));
        if (key !== undefined) throw fail(`the pax global header at byte ${dataStart - BLOCK_SIZE} sets "${key}" for every member; not supported`);
      } else if (flag === 'x') pending.pax = new Map([...(pending.pax ?? []), ...parsePaxRecords(data, path, dataStart - BLOCK_SIZE)]);
      else {
        const nul = data.indexOf(0);
        const text = data.subarray(0, nul === -1 ? data.length : nul).toString('utf8');
        if (flag === 'L') pending.longName = text;
        else pending.longLink = text;
      }
      continue;
    }
    const rawName = nonEmpty(pending.pax?.get('path')) ?? pending.longName ?? raw.name;
    const linkName = nonEmpty(pending.pax?.get('linkpath')) ?? pending.longLink ?? raw.linkName;
    const type = memberType(flag, rawName);
    const member: TarMember = { name: normalizeName(rawName), rawName, offset: dataStart, size: dataSize, type, typeflag: flag };
    if (type === 'symlink' || type === 'hardlink') member.linkName = linkName;
    if (rawName !== raw.name) member.headerName = raw.name;
    if ([...(pending.pax?.keys() ?? [])].some((k) => k.startsWith('GNU.sparse.'))) member.sparse = true;
    pending = {};
    yield member;
  }
  if (pending.longName !== undefined || pending.longLink !== undefined || pending.pax !== undefined) {
    throw fail('truncated archive: an extended header is not followed by a member header');
  }
}

/** Treats an empty pax value as absent (an empty value cancels the keyword, per pax). */
function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
