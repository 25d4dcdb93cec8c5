// The central directory of a zip file on disk (PKWARE APPNOTE 6.3.10, 4.3.12-4.3.16): each member's
// sizes, for members whose local header defers them to a data descriptor (zip-stream.ts).
import { open } from 'node:fs/promises';
import { PackageError } from '../errors.js';
import type { CentralSizes } from './zip-stream.js';

const END_OF_CENTRAL = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_END = 0x06064b50;
const CENTRAL_HEADER = 0x02014b50;
/** The end record (22 bytes) and the longest comment (65535) it may be followed by. */
const TAIL_BYTES = 22 + 0xffff;
/** Largest central directory read, in bytes (64 MiB: a million members). */
const MAX_CENTRAL_BYTES = 64 * 1024 * 1024;

/**
 * Reads the central directory of the zip file at `path`: compressed and uncompressed sizes by
 * member name as stored (ZIP64 sizes included).
 * @throws PackageError (file = `path`) when no end-of-central-directory record is found, the
 *   directory lies outside the file or is larger than 64 MiB, or an entry is malformed.
 */
export async function readZipCentral(path: string): Promise<Map<string, CentralSizes>> {
  const fail = (why: string): PackageError => new PackageError(`${path}: ${why}`, { file: path });
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const read = async (at: number, length: number): Promise<Buffer> => {
      const b = Buffer.alloc(length);
      const { bytesRead } = await fh.read(b, 0, length, at);
      if (bytesRead < length) throw fail(`truncated zip archive: ${length} bytes at ${at} run past its end`);
      return b;
    };
    const tailAt = Math.max(0, size - TAIL_BYTES);
    const tail = await read(tailAt, size - tailAt);
    let eocd = -1;
    for (let i = tail.length - 22; i >= 0; i--) if (tail.readUInt32LE(i) === END_OF_CENTRAL) (eocd = i), (i = -1);
    if (eocd < 0) throw fail('no end of central directory record: not a complete zip archive');
    let count = tail.readUInt16LE(eocd + 10);
    let length = tail.readUInt32LE(eocd + 12);
    let offset = tail.readUInt32LE(eocd + 16);
    if (eocd >= 20 && tail.readUInt32LE(eocd - 20) === ZIP64_LOCATOR) {
      const end64 = await read(Number(tail.readBigUInt64LE(eocd - 12)), 56);
      if (end64.readUInt32LE(0) !== ZIP64_END) throw fail('the ZIP64 end of central directory record is missing');
      [count, length, offset] = [Number(end64.readBigUInt64LE(32)), Number(end64.readBigUInt64LE(40)), Number(end64.readBigUInt64LE(48))];
    }
    if (length > MAX_CENTRAL_BYTES || offset + length > size) throw fail(`the central directory (${length} bytes at ${offset}) lies outside the file or is too large`);
    const dir = await read(offset, length);
    const sizes = new Map<string, CentralSizes>();
    for (let at = 0, n = 0; n < count; n++) {
      if (at + 46 > dir.length || dir.readUInt32LE(at) !== CENTRAL_HEADER) throw fail(`central directory entry ${n + 1} is malformed`);
      const nameLength = dir.readUInt16LE(at + 28);
      const extraLength = dir.readUInt16LE(at + 30);
      const name = dir.toString(dir.readUInt16LE(at + 8) & 0x800 ? 'utf8' : 'latin1', at + 46, at + 46 + nameLength);
      let compressed = dir.readUInt32LE(at + 20);
      let uncompressed = dir.readUInt32LE(at + 24);
      // ZIP64 extra (APPNOTE 4.5.3): only the fields whose 32-bit value is 0xFFFFFFFF, in that order.
      const extra = dir.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength);
      for (let e = 0; e + 4 <= extra.length; e += 4 + extra.readUInt16LE(e + 2)) {
        if (extra.readUInt16LE(e) !== 0x0001) continue;
        let f = e + 4;
        if (uncompressed === 0xffffffff && f + 8 <= extra.length) (uncompressed = Number(extra.readBigUInt64LE(f))), (f += 8);
        if (compressed === 0xffffffff && f + 8 <= extra.length) compressed = Number(extra.readBigUInt64LE(f));
      }
      sizes.set(name, { compressedBytes: compressed, uncompressedBytes: uncompressed });
      at += 46 + nameLength + extraLength + dir.readUInt16LE(at + 32);
    }
    return sizes;
  } finally {
    await fh.close();
  }
}
