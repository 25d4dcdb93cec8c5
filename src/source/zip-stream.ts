// A zip package read in one pass (PKWARE APPNOTE 6.3.10): local file headers in order, stored or
// deflated members inflated with node:zlib as they pass, CRC-32 and sizes checked; no extraction.
import { PassThrough, Transform } from 'node:stream';
import { crc32, createInflateRaw } from 'node:zlib';
import { PackageError } from '../errors.js';
import { MemberBody, type SequentialReader, type StreamMember } from './sequential-reader.js';

/** A zip member before the package policy: its name as stored and whether it is a directory. */
export interface ZipMember extends StreamMember {
  readonly isDirectory: boolean;
}

/** Sizes of a member from the central directory (APPNOTE 4.3.12), for members whose local header defers them. Bytes. */
export interface CentralSizes {
  readonly compressedBytes: number;
  readonly uncompressedBytes: number;
}

const LOCAL_HEADER = 0x04034b50;
const CENTRAL_HEADER = 0x02014b50;
const END_OF_CENTRAL = 0x06054b50;
const ZIP64_EXTRA = 0x0001;
const STORED = 0;
const DEFLATED = 8;

/** The ZIP64 sizes in an extra field (APPNOTE 4.5.3: uncompressed, then compressed, 8 bytes each). */
function zip64Sizes(extra: Buffer): { uncompressed: number; compressed: number } | undefined {
  for (let at = 0; at + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(at);
    const len = extra.readUInt16LE(at + 2);
    if (id === ZIP64_EXTRA && len >= 16 && at + 4 + len <= extra.length) {
      return { uncompressed: Number(extra.readBigUInt64LE(at + 4)), compressed: Number(extra.readBigUInt64LE(at + 12)) };
    }
    at += 4 + len;
  }
  return undefined;
}

/**
 * The members of a zip read front to back, local header by local header, until the central
 * directory: stored (method 0) and deflated (method 8) members, their bytes inflated as they
 * pass, their length and CRC-32 checked at the end of each. `tap` sees the member's bytes as the
 * package holds them (inflated). A member left unread is drained before the next header.
 * @param source the package's name for messages.
 * @param central sizes by raw name from the central directory (a local file), used for members
 *   whose local header defers its sizes to a data descriptor (bit 3).
 * @throws PackageError (file = `source` or the member) for an encrypted member, a method other
 *   than stored or deflate, deferred sizes with no central directory to give them (a zip written
 *   to a pipe, read from one), a name that is not UTF-8 or ASCII, corrupt deflate data, a CRC-32
 *   or length mismatch, or a truncated archive.
 */
export async function* readZipStream(reader: SequentialReader, source: string, tap: (name: string) => ((chunk: Buffer) => void) | undefined, central?: ReadonlyMap<string, CentralSizes>): AsyncGenerator<ZipMember> {
  const fail = (why: string, file = source): PackageError => new PackageError(`${source}: ${why}`, { file });
  for (let index = 0; ; index++) {
    const at = reader.position;
    const head = await reader.readExact(30);
    if (head.length === 0) throw fail('truncated zip archive: it ends before its central directory');
    if (head.length >= 4 && (head.readUInt32LE(0) === CENTRAL_HEADER || head.readUInt32LE(0) === END_OF_CENTRAL)) break;
    if (head.length < 30) throw fail(`truncated zip archive: the local header at byte ${at} is cut short`);
    if (head.readUInt32LE(0) !== LOCAL_HEADER) throw fail(`not a zip local file header at byte ${at} (member ${index + 1})`);
    const flags = head.readUInt16LE(6);
    const method = head.readUInt16LE(8);
    const nameBytes = await reader.readExact(head.readUInt16LE(26));
    const extra = await reader.readExact(head.readUInt16LE(28));
    if (nameBytes.length < head.readUInt16LE(26) || extra.length < head.readUInt16LE(28)) throw fail(`truncated zip archive: the local header at byte ${at} is cut short`);
    const rawName = nameBytes.toString(flags & 0x800 ? 'utf8' : 'latin1');
    const refuse = (why: string): PackageError => fail(`zip member ${JSON.stringify(rawName)} ${why}`, rawName);
    if (flags & 0x1) throw refuse('is encrypted; encrypted zip members are refused');
    if (method !== STORED && method !== DEFLATED) throw refuse(`uses compression method ${method}; only stored (0) and deflate (8) are supported`);
    let compressed = head.readUInt32LE(18);
    let size = head.readUInt32LE(22);
    const crc = head.readUInt32LE(14);
    if (compressed === 0xffffffff || size === 0xffffffff) {
      const z64 = zip64Sizes(extra);
      if (!z64) throw refuse('has ZIP64 size markers but no ZIP64 extra field');
      [compressed, size] = [z64.compressed, z64.uncompressed];
    }
    const deferred = (flags & 0x8) !== 0;
    let expectedCrc: number | undefined = crc;
    if (deferred) {
      const sizes = central?.get(rawName);
      if (!sizes) throw refuse('gives its sizes only after its data (a data descriptor, as zip tools write to a pipe), which a one-pass read cannot use; give the zip as a file, or repack it as a tar');
      [compressed, size, expectedCrc] = [sizes.compressedBytes, sizes.uncompressedBytes, undefined];
    }
    if (!Number.isSafeInteger(compressed) || !Number.isSafeInteger(size)) throw refuse('has a size beyond 2^53 bytes');
    const short = (got: number): PackageError => fail(`truncated zip archive: member ${JSON.stringify(rawName)} ends after ${got} of its ${compressed} stored bytes`);
    const stored = new MemberBody(reader, compressed, () => undefined, short);
    const observe = tap(rawName) ?? (() => undefined);
    const member = inflated(stored, method, { size, expectedCrc, observe, refuse });
    yield { ...member, name: rawName, rawName, size, isDirectory: rawName.endsWith('/') };
    await member.drain();
    if (deferred) {
      // The data descriptor: optional signature, CRC-32, then 4- or 8-byte sizes (ZIP64 when the central record needs it).
      const sig = await reader.peek(4);
      const wide = compressed >= 0xffffffff || size >= 0xffffffff;
      await reader.readExact((sig.length === 4 && sig.readUInt32LE(0) === 0x08074b50 ? 4 : 0) + 4 + (wide ? 16 : 8));
    }
  }
  await reader.drainAll();
}

/** The member's inflated bytes, checked for length and CRC-32 at their end, each chunk shown to `observe`. */
function inflated(stored: MemberBody, method: number, o: { size: number; expectedCrc: number | undefined; observe: (c: Buffer) => void; refuse: (why: string) => PackageError }): Pick<StreamMember, 'body' | 'settled' | 'drain'> {
  let got = 0;
  let crc = 0;
  const check = new Transform({
    highWaterMark: 1024 * 1024,
    transform(chunk: Buffer, _enc, done) {
      got += chunk.length;
      if (got > o.size) return done(o.refuse(`inflates to more than its ${o.size} bytes`));
      crc = crc32(chunk, crc);
      o.observe(chunk);
      done(null, chunk);
    },
    flush(done) {
      if (got !== o.size) return done(o.refuse(`holds ${got} bytes, not the ${o.size} its header gives`));
      if (o.expectedCrc !== undefined && crc >>> 0 !== o.expectedCrc) return done(o.refuse(`fails its CRC-32 check (stored ${o.expectedCrc.toString(16)}, computed ${(crc >>> 0).toString(16)})`));
      done();
    },
  });
  const stages = method === DEFLATED ? [createInflateRaw({ chunkSize: 1024 * 1024 })] : [new PassThrough()];
  let source = stored.stream;
  for (const s of stages) {
    s.on('error', (err) => check.destroy(method === DEFLATED && !(err instanceof PackageError) ? o.refuse(`holds corrupt deflate data: ${err.message}`) : err));
    source = source.pipe(s);
  }
  stored.stream.on('error', (err) => check.destroy(err));
  const body = source.pipe(check);
  const settled = new Promise<void>((resolve) => body.once('close', () => resolve()));
  return {
    body,
    settled,
    drain: async () => {
      if (!body.destroyed && !body.readableEnded) {
        body.resume();
        await settled;
      }
      await stored.drain();
    },
  };
}
