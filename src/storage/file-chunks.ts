// Reads a byte range of a file as a stream of chunks into two reused buffers, one read ahead:
// no fresh allocation per chunk (a new 1 MiB buffer per read costs page faults: measured, reading
// a 128 MiB VMDK took 0.35 s of system time through fs.createReadStream, 0.11 s with cat).

import { open } from 'node:fs/promises';

/** Bytes per read. */
const CHUNK_BYTES = 2 ** 20;

/**
 * Yields the bytes of `path` from `offset` for `length` bytes (to the end of the file when
 * absent), in chunks of up to 1 MiB. Each chunk is a view of one of two buffers that are
 * reused: the consumer must be done with a chunk when it asks for the next one (the streaming
 * decoder, copyRaw and a hash update all are). The next read is in flight while a chunk is consumed.
 * @throws the OS error of open or read; Error when the file ends before `offset + length`.
 */
export async function* fileChunks(path: string, offset = 0, length?: number): AsyncGenerator<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    const end = length !== undefined ? offset + length : (await fh.stat()).size;
    const bufs = [Buffer.allocUnsafe(CHUNK_BYTES), Buffer.allocUnsafe(CHUNK_BYTES)];
    let pos = offset;
    const readAt = (i: number) => (pos < end ? fh.read(bufs[i]!, 0, Math.min(CHUNK_BYTES, end - pos), pos) : undefined);
    let turn = 0;
    let pending = readAt(turn);
    while (pending) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) throw new Error(`${path} ends at byte ${pos}, before ${end}`);
      pos += bytesRead;
      const chunk = bufs[turn]!.subarray(0, bytesRead);
      turn ^= 1;
      pending = readAt(turn);
      yield chunk;
    }
  } finally {
    await fh.close();
  }
}
