// Random access to the bytes of a package source: the ByteReader interface and its local-file implementation.
import { createReadStream } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';

/** Chunk size of range streams, in bytes (1 MiB). */
export const STREAM_CHUNK = 1024 * 1024;

/**
 * Random access to the bytes of one source: a host file, or a URL read with HTTP range
 * requests (source/http-reader.ts). Offsets and lengths are in bytes. The tar index, the OVA
 * and the OVF packages read through it (archive/tar.ts, ova.ts, ovf-dir.ts, ovf-url.ts).
 */
export interface ByteReader {
  /** What the bytes are, for messages: the host path or the URL. */
  readonly name: string;
  /** Length of the source in bytes. */
  readonly size: number;
  /** The host file, when the source is one (qemu-img may then read it in place). */
  readonly localPath?: string;
  /**
   * Up to `length` bytes at `offset`: fewer only where the source ends.
   * @throws the OS error of a host file; HttpError (source/http-errors.ts) for a URL.
   */
  read(offset: number, length: number): Promise<Buffer>;
  /** A stream over [offset, offset + length); it fails as read does, and ends early where the source ends. */
  stream(offset: number, length: number): Readable;
}

/** A host file as a ByteReader; each read opens the file unless the reader holds it open (openFileReader). */
class FileReader implements ByteReader {
  constructor(
    readonly localPath: string,
    readonly size: number,
    private handle?: FileHandle,
  ) {}

  get name(): string {
    return this.localPath;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const fh = this.handle ?? (await open(this.localPath, 'r'));
    try {
      const buffer = Buffer.alloc(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await fh.read(buffer, done, length - done, offset + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return buffer.subarray(0, done);
    } finally {
      if (!this.handle) await fh.close();
    }
  }

  stream(offset: number, length: number): Readable {
    if (length === 0) return Readable.from([]);
    return createReadStream(this.localPath, { start: offset, end: offset + length - 1, highWaterMark: STREAM_CHUNK });
  }

  /** Closes the handle a reader of openFileReader holds. */
  async close(): Promise<void> {
    const fh = this.handle;
    this.handle = undefined;
    await fh?.close();
  }
}

/** Bytes already in memory (a descriptor fetched whole) as a ByteReader; `name` for messages. */
export function memoryReader(name: string, bytes: Buffer): ByteReader {
  return {
    name,
    size: bytes.length,
    read: async (offset, length) => Buffer.from(bytes.subarray(offset, offset + length)),
    stream: (offset, length) => Readable.from([bytes.subarray(offset, offset + length)]),
  };
}

/** A host file of known size (stat(2) already done) as a ByteReader that opens the file for each read. */
export function localFile(path: string, size: number): ByteReader {
  return new FileReader(path, size);
}

/**
 * A host file as a ByteReader that opens the file for each read (the long-lived reader of an
 * opened package: no descriptor stays open).
 * @throws the OS error of stat(2).
 */
export async function fileReader(path: string): Promise<ByteReader> {
  return new FileReader(path, (await stat(path)).size);
}

/**
 * Runs `use` with a reader that holds `path` open (many small reads, e.g. a tar index), then closes it.
 * @throws the OS error of open(2) or fstat(2), or what `use` throws.
 */
export async function withFileReader<T>(path: string, use: (reader: ByteReader) => Promise<T>): Promise<T> {
  const fh = await open(path, 'r');
  const reader = new FileReader(path, 0, fh);
  try {
    const sized = new FileReader(path, (await fh.stat()).size, fh);
    return await use(sized);
  } finally {
    await reader.close();
  }
}
