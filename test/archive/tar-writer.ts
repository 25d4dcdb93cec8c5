// A minimal tar writer for hostile fixtures that GNU tar refuses to produce (`..`, absolute
// names, control characters, pax/GNU renames). Layout per IEEE 1003.1-2008 ustar.

/** One member to write. */
export interface RawMember {
  /** Written into the 100-byte name field (truncated if longer). */
  name: string;
  /** ustar type flag; default '0' (regular file). */
  type?: string;
  data?: Buffer | string;
  linkName?: string;
}

/** Writes `value` as a NUL-terminated octal field of `width` bytes at `at`. */
function octal(block: Buffer, at: number, width: number, value: number): void {
  block.write(`${value.toString(8).padStart(width - 1, '0')}\0`, at, width, 'latin1');
}

/** Recomputes the checksum of the 512-byte header at `at` (six octal digits, NUL, space). */
export function fixChecksum(bytes: Buffer, at = 0): void {
  bytes.fill(0x20, at + 148, at + 156);
  let sum = 0;
  for (let i = at; i < at + 512; i++) sum += bytes[i] ?? 0;
  bytes.write(`${sum.toString(8).padStart(6, '0')}\0 `, at + 148, 'latin1');
}

/** A POSIX ustar header block for `m` with a valid checksum. */
export function headerBlock(m: RawMember, size: number): Buffer {
  const block = Buffer.alloc(512);
  Buffer.from(m.name, 'utf8').copy(block, 0, 0, 100);
  octal(block, 100, 8, 0o644);
  octal(block, 108, 8, 1000);
  octal(block, 116, 8, 1000);
  octal(block, 124, 12, size);
  octal(block, 136, 12, 1_700_000_000);
  block.write(m.type ?? '0', 156, 1, 'latin1');
  if (m.linkName !== undefined) Buffer.from(m.linkName, 'utf8').copy(block, 157, 0, 100);
  block.write('ustar\u000000', 257, 8, 'latin1');
  fixChecksum(block);
  return block;
}

/** Header plus data padded to whole blocks. */
export function memberBytes(m: RawMember): Buffer {
  const data = typeof m.data === 'string' ? Buffer.from(m.data) : (m.data ?? Buffer.alloc(0));
  const padding = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([headerBlock(m, data.length), data, padding]);
}

/** A pax extended header ('x', or 'g' for global) carrying `records`. */
export function paxBytes(records: Record<string, string>, type: 'x' | 'g' = 'x'): Buffer {
  const lines = Object.entries(records).map(([key, value]) => {
    const body = ` ${key}=${value}\n`;
    let length = Buffer.byteLength(body) + 1;
    while (String(length).length + Buffer.byteLength(body) !== length) length++;
    return `${length}${body}`;
  });
  return memberBytes({ name: 'PaxHeaders/member', type, data: lines.join('') });
}

/** A GNU long-name ('L') header naming the next member `name`. */
export function longNameBytes(name: string): Buffer {
  return memberBytes({ name: '././@LongLink', type: 'L', data: `${name}\0` });
}

/** Concatenates members and appends the two zero blocks that end an archive. */
export function tarOf(...parts: Buffer[]): Buffer {
  return Buffer.concat([...parts, Buffer.alloc(1024)]);
}
