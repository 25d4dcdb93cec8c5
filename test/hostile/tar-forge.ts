// Forges tar archives GNU tar will not write (hostile names, pax/GNU renames, lying sizes):
// 512-byte POSIX ustar headers (IEEE 1003.1-2008) with their checksum, assembled block by block.

const BLOCK = 512;

/** One header to forge. */
export interface ForgedHeader {
  /** Name field (at most 100 bytes; longer is an error: use a GNU long name or pax path). */
  name: string;
  /** Value of the size field, in bytes; need not match the data that follows (that is the point). */
  size: number;
  /** Type flag: '0' file, '1' hard link, '2' symlink, 'x' pax, 'L' GNU long name... */
  type?: string;
  linkName?: string;
  /** 'gnu' writes the old GNU magic `ustar  \0` (GNU tar's 'L' headers use it). */
  magic?: 'ustar' | 'gnu';
}

/** Writes `value` in octal, zero-padded, NUL-terminated, into the `width`-byte field at `at`. */
function putOctal(block: Buffer, at: number, width: number, value: number): void {
  const digits = value.toString(8);
  if (digits.length > width - 1) throw new RangeError(`value ${value} does not fit a ${width}-byte octal field`);
  block.write(digits.padStart(width - 1, '0'), at, width - 1, 'latin1');
  block[at + width - 1] = 0;
}

/** A header block with its checksum: the byte sum of the block with the checksum field read as eight spaces. */
export function forgeHeader(h: ForgedHeader): Buffer {
  const block = Buffer.alloc(BLOCK);
  const name = Buffer.from(h.name, 'utf8');
  if (name.length > 100) throw new RangeError(`name field holds 100 bytes, got ${name.length}`);
  name.copy(block, 0);
  putOctal(block, 100, 8, 0o644); // mode
  putOctal(block, 108, 8, 0); // uid
  putOctal(block, 116, 8, 0); // gid
  putOctal(block, 124, 12, h.size);
  putOctal(block, 136, 12, 1_700_000_000); // mtime
  block.write(h.type ?? '0', 156, 1, 'latin1');
  if (h.linkName !== undefined) Buffer.from(h.linkName, 'utf8').copy(block, 157, 0, 100);
  if (h.magic === 'gnu') block.write('ustar  \0', 257, 8, 'latin1');
  else block.write('ustar\x0000', 257, 8, 'latin1');
  block.write('root', 265, 'latin1'); // uname
  block.write('root', 297, 'latin1'); // gname
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  putOctal(block, 148, 7, sum);
  block[155] = 0x20;
  return block;
}

/** Zeros that pad `length` bytes of data to a whole number of blocks. */
function padding(length: number): Buffer {
  return Buffer.alloc((BLOCK - (length % BLOCK)) % BLOCK);
}

/** A regular-file (or link) member: header, data, padding. */
export function forgeMember(name: string, data: Buffer | string, more: Omit<ForgedHeader, 'name' | 'size'> = {}): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  return Buffer.concat([forgeHeader({ name, size: bytes.length, ...more }), bytes, padding(bytes.length)]);
}

/** A pax extended header ('x') whose records apply to the next member: `LEN key=value\n`, LEN counting itself. */
export function forgePax(records: Record<string, string>): Buffer {
  let body = '';
  for (const [key, value] of Object.entries(records)) {
    const rest = ` ${key}=${value}\n`;
    let length = Buffer.byteLength(rest);
    while (String(length).length + Buffer.byteLength(rest) !== length) length = String(length).length + Buffer.byteLength(rest);
    body += `${length}${rest}`;
  }
  return forgeMember('PaxHeader/next', body, { type: 'x' });
}

/** A GNU long-name header ('L', name `././@LongLink`): the next member is called `name`. */
export function forgeGnuLongName(name: string): Buffer {
  return forgeMember('././@LongLink', `${name}\0`, { type: 'L', magic: 'gnu' });
}

/** Concatenates `parts` and, unless `end` is false, the two zero blocks that end an archive. */
export function forgeArchive(parts: Buffer[], end = true): Buffer {
  return Buffer.concat([...parts, ...(end ? [Buffer.alloc(2 * BLOCK)] : [])]);
}
