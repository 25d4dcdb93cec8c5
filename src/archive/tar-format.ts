// The tar header format, both ways: decoding 512-byte header blocks (ustar, v7, GNU) and pax
// extended-header records, and encoding the ustar header of a regular file (IEEE 1003.1-2008).

import { PackageError, VirtOvfError } from '../errors.js';

/** Size of a tar block in bytes (IEEE 1003.1-2008 ustar). */
export const BLOCK_SIZE = 512;

/** A header block decoded field by field, before GNU/pax overrides are applied. */
export interface RawHeader {
  /** Name as stored: ustar `prefix + "/" + name` when the POSIX magic is present, else `name`. */
  name: string;
  /** `linkname` field. */
  linkName: string;
  /** `size` field in bytes (octal or GNU base-256). */
  size: number;
  /** `typeflag` as a one-character string; `'\0'` for old v7 regular files. */
  typeflag: string;
  /** Which magic the block carries: POSIX `ustar\0`, GNU `ustar  \0`, or none (v7). */
  format: 'ustar' | 'gnu' | 'v7';
}

/**
 * Decodes a numeric header field: octal digits (optionally led by spaces, ended by NUL or
 * space; an all-NUL field is 0) or GNU base-256 (first byte has its high bit set).
 * @param field the raw field bytes.
 * @returns the value, or `undefined` when the field is malformed, negative or above 2^53 - 1.
 */
export function parseNumeric(field: Buffer): number | undefined {
  const first = field[0] ?? 0;
  if (first & 0x80) {
    if (first & 0x40) return undefined; // negative base-256 value
    let value = first & 0x3f;
    for (let i = 1; i < field.length; i++) {
      value = value * 256 + (field[i] ?? 0);
      if (value > Number.MAX_SAFE_INTEGER) return undefined;
    }
    return value;
  }
  let i = 0;
  while (i < field.length && field[i] === 0x20) i++;
  let value = 0;
  for (; i < field.length; i++) {
    const c = field[i] ?? 0;
    if (c < 0x30 || c > 0x37) break;
    value = value * 8 + (c - 0x30);
  }
  for (; i < field.length; i++) {
    if (field[i] !== 0 && field[i] !== 0x20) return undefined;
  }
  return value;
}

/** True when all 512 bytes of `block` are zero (an end-of-archive marker). */
export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK_SIZE; i++) if (block[i] !== 0) return false;
  return true;
}

/**
 * Checks a header's `chksum` field (offset 148, 8 bytes): the sum of all 512 bytes with the
 * field itself counted as spaces. Both the POSIX unsigned sum and the historical signed sum
 * are accepted.
 * @param block one 512-byte block.
 * @returns true when the block is a tar header with a matching checksum.
 */
export function isTarHeaderBlock(block: Buffer): boolean {
  if (block.length < BLOCK_SIZE || isZeroBlock(block)) return false;
  const field = block.subarray(148, 156);
  if (!field.some((c) => c >= 0x30 && c <= 0x37)) return false;
  const stored = parseNumeric(field);
  if (stored === undefined) return false;
  const { unsigned, signed } = checksums(block);
  return stored === unsigned || stored === signed;
}

/** The header checksum of `block` with the `chksum` field (offset 148, 8 bytes) counted as spaces: the POSIX unsigned sum and the historical signed one. */
function checksums(block: Buffer): { unsigned: number; signed: number } {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK_SIZE; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  return { unsigned, signed };
}

/** Reads a NUL-terminated (or field-filling) UTF-8 string from `block[start, start + length)`. */
function cString(block: Buffer, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? field.length : end).toString('utf8');
}

/**
 * Decodes the fields of a header block whose checksum is already known to be good.
 * Follows the POSIX ustar layout (IEEE 1003.1-2008, pax "ustar Interchange Format"); the
 * `prefix` field is used only with the POSIX magic, since old GNU headers put times there.
 * @param block one 512-byte block.
 * @param file path of the tar file, for errors.
 * @param at byte offset of the block in the file, for errors.
 * @throws PackageError when the `size` field is malformed.
 */
export function decodeHeader(block: Buffer, file: string, at: number): RawHeader {
  const magic = block.toString('latin1', 257, 265);
  const format = magic === 'ustar  \0' ? 'gnu' : magic.startsWith('ustar\0') ? 'ustar' : 'v7';
  let name = cString(block, 0, 100);
  if (format === 'ustar') {
    const prefix = cString(block, 345, 155);
    if (prefix !== '') name = `${prefix}/${name}`;
  }
  const size = parseNumeric(block.subarray(124, 136));
  if (size === undefined) {
    throw new PackageError(`${file}: malformed size field in the tar header at byte ${at}`, { file });
  }
  const flag = block[156] ?? 0;
  return { name, linkName: cString(block, 157, 100), size, typeflag: String.fromCharCode(flag), format };
}

/**
 * Parses the records of a pax extended header ("pax Interchange Format", IEEE 1003.1-2008):
 * each record is `"<length> <keyword>=<value>\n"` where `<length>` counts the record's bytes.
 * Trailing NUL padding is tolerated.
 * @param data the header's data bytes (UTF-8).
 * @param file path of the tar file, for errors.
 * @param at byte offset of the pax header in the file, for errors.
 * @returns keyword to value; later records override earlier ones.
 * @throws PackageError when a record is malformed.
 */
export function parsePaxRecords(data: Buffer, file: string, at: number): Map<string, string> {
  const records = new Map<string, string>();
  const bad = (why: string): PackageError =>
    new PackageError(`${file}: malformed pax extended header at byte ${at}: ${why}`, { file });
  let pos = 0;
  while (pos < data.length && data[pos] !== 0) {
    const space = data.indexOf(0x20, pos);
    const lengthText = space === -1 ? '' : data.toString('latin1', pos, space);
    if (!/^[1-9][0-9]{0,15}$/.test(lengthText)) throw bad(`bad record length at record offset ${pos}`);
    const end = pos + Number(lengthText);
    if (end > data.length || data[end - 1] !== 0x0a) throw bad(`record at offset ${pos} overruns or lacks its newline`);
    const record = data.subarray(space + 1, end - 1);
    const eq = record.indexOf(0x3d);
    if (eq <= 0) throw bad(`record at offset ${pos} has no keyword=value`);
    records.set(record.toString('utf8', 0, eq), record.toString('utf8', eq + 1));
    pos = end;
  }
  return records;
}

/** Largest size the 12-byte octal field holds (8 GiB - 1); larger sizes are written in GNU base-256. */
const OCTAL_MAX = 0o77777777777;

/** Splits a member name into the ustar prefix (155 bytes) and name (100 bytes) fields. */
function splitName(name: string): [prefix: string, base: string] {
  if (Buffer.byteLength(name) <= 100) return ['', name];
  for (let i = name.indexOf('/'); i > 0; i = name.indexOf('/', i + 1)) {
    const [prefix, base] = [name.slice(0, i), name.slice(i + 1)];
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(base) <= 100 && base !== '') return [prefix, base];
  }
  throw new VirtOvfError(`OVA member name ${JSON.stringify(name)} does not fit a ustar header (100 bytes, or a 155-byte directory prefix)`);
}

/** Writes `size` into the header's size field (offset 124): 11 octal digits, or GNU base-256 above 8 GiB - 1 (which {@link parseNumeric} reads). */
function writeSize(block: Buffer, size: number): void {
  if (size <= OCTAL_MAX) return void block.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 12, 'latin1');
  block.fill(0, 124, 136);
  block[124] = 0x80;
  let v = BigInt(size);
  for (let i = 135; i > 124; i--, v >>= 8n) block[i] = Number(v & 0xffn);
}

/**
 * A POSIX ustar header block for a regular file (mode 0644, uid/gid 0, typeflag '0'); `size` in
 * bytes, `mtime` in seconds. Names over 100 bytes are split into the 155-byte prefix field at a
 * '/'; sizes above 8 GiB - 1 use GNU tar's base-256 size field. The checksum is six octal
 * digits, NUL, space. {@link decodeHeader} reads the block back.
 * @throws VirtOvfError when the name fits neither the name field nor prefix + name.
 */
export function ustarHeader(name: string, size: number, mtime: number): Buffer {
  const block = Buffer.alloc(BLOCK_SIZE);
  const [prefix, base] = splitName(name);
  block.write(base, 0, 100, 'utf8');
  block.write('0000644\u00000000000\u00000000000\u0000', 100, 24, 'latin1'); // mode, uid, gid
  writeSize(block, size);
  block.write(`${mtime.toString(8).padStart(11, '0')}\0`, 136, 12, 'latin1');
  block.write('0', 156, 1, 'latin1');
  block.write('ustar\u000000', 257, 8, 'latin1');
  block.write(prefix, 345, 155, 'utf8');
  block.write(`${checksums(block).unsigned.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return block;
}

/** Rounds a data length in bytes up to whole 512-byte blocks (members' data is padded so). */
export function paddedSize(size: number): number {
  return Math.ceil(size / BLOCK_SIZE) * BLOCK_SIZE;
}
