// Header-only indexing of a tar file: where each member's data lies, without extracting anything.

import { open, type FileHandle } from 'node:fs/promises';
import { PackageError } from '../errors.js';
import { BLOCK_SIZE, decodeHeader, isTarHeaderBlock, isZeroBlock, parsePaxRecords } from './tar-header.js';

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
  /** Target of a symlink or hardlink, as stored. */
  linkName?: string;
}

/** The members of a tar file, in archive order (duplicates kept). */
export interface TarIndex {
  members: TarMember[];
}

/** Largest GNU long-name/long-link or pax extended header accepted, in bytes. */
const MAX_EXTENSION_BYTES = 8 * 1024 * 1024;

/** Type flags whose members carry no data blocks (POSIX ustar: size is ignored for them). */
const NO_DATA_FLAGS = new Set(['1', '2', '3', '4', '5', '6']);

/** Overrides collected from GNU 'L'/'K' and pax 'x' headers for the next real header. */
interface Pending {
  longName?: string;
  longLink?: string;
  pax?: Map<string, string>;
}

/** Reads up to `length` bytes at `position`; returns fewer only at end of file. */
async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buffer.subarray(0, done);
}

/** Rounds a data length up to whole 512-byte blocks. */
function padded(size: number): number {
  return Math.ceil(size / BLOCK_SIZE) * BLOCK_SIZE;
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
 * `size`) and pax global headers ('g', skipped), per IEEE 1003.1-2008 "pax Interchange Format".
 * Numeric fields may be octal or GNU base-256. Reading stops at the first zero block or at
 * end of file.
 * @param path host path of the tar file.
 * @returns members in archive order; offsets and sizes are in bytes.
 * @throws PackageError (file = `path`) when the file cannot be read, is empty, its first
 *   header is invalid ("not a tar archive"), a later header has a bad checksum or is cut
 *   short, an extension header is malformed or oversized, or a member's data runs past the
 *   end of the file (truncated archive).
 */
export async function indexTar(path: string): Promise<TarIndex> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (cause) {
    throw new PackageError(`${path}: cannot open: ${(cause as Error).message}`, { file: path, cause });
  }
  try {
    return await walk(fh, path);
  } catch (cause) {
    if (cause instanceof PackageError) throw cause;
    throw new PackageError(`${path}: cannot read: ${(cause as Error).message}`, { file: path, cause });
  } finally {
    await fh.close();
  }
}

/** The header loop of {@link indexTar}. */
async function walk(fh: FileHandle, path: string): Promise<TarIndex> {
  const fail = (why: string): PackageError => new PackageError(`${path}: ${why}`, { file: path });
  const fileSize = (await fh.stat()).size;
  if (fileSize === 0) throw fail('not a tar archive: the file is empty');
  const members: TarMember[] = [];
  let pending: Pending = {};
  let pos = 0;
  for (;;) {
    const block = await readAt(fh, pos, BLOCK_SIZE);
    if (block.length === 0 || (block.length === BLOCK_SIZE && isZeroBlock(block))) break;
    if (pos === 0 && !isTarHeaderBlock(block)) throw fail('not a tar archive (no valid tar header at byte 0)');
    if (block.length < BLOCK_SIZE) throw fail(`truncated archive: the header at byte ${pos} is cut short`);
    if (!isTarHeaderBlock(block)) throw fail(`bad tar header checksum at byte ${pos}`);
    const raw = decodeHeader(block, path, pos);
    const dataStart = pos + BLOCK_SIZE;
    const flag = raw.typeflag;
    const isExtension = flag === 'L' || flag === 'K' || flag === 'x' || flag === 'g';
    const dataSize = isExtension ? raw.size : NO_DATA_FLAGS.has(flag) ? 0 : Number(pending.pax?.get('size') ?? raw.size);
    if (!Number.isSafeInteger(dataSize) || dataSize < 0) throw fail(`bad pax size for the member at byte ${pos}`);
    if (dataStart + dataSize > fileSize) {
      throw fail(`truncated archive: the data of "${raw.name}" (header at byte ${pos}, ${dataSize} bytes) runs past the end of the file`);
    }
    pos = dataStart + padded(dataSize);
    if (flag === 'g') continue;
    if (isExtension) {
      if (dataSize > MAX_EXTENSION_BYTES) throw fail(`extension header at byte ${dataStart - BLOCK_SIZE} is larger than ${MAX_EXTENSION_BYTES} bytes`);
      const data = await readAt(fh, dataStart, dataSize);
      if (flag === 'x') pending.pax = new Map([...(pending.pax ?? []), ...parsePaxRecords(data, path, dataStart - BLOCK_SIZE)]);
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
    const member: TarMember = { name: normalizeName(rawName), rawName, offset: dataStart, size: dataSize, type };
    if (type === 'symlink' || type === 'hardlink') member.linkName = linkName;
    members.push(member);
    pending = {};
  }
  if (pending.longName !== undefined || pending.longLink !== undefined || pending.pax !== undefined) {
    throw fail('truncated archive: an extended header is not followed by a member header');
  }
  return { members };
}

/** Treats an empty pax value as absent (an empty value cancels the keyword, per pax). */
function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
