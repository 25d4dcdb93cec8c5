// Raw disk content of the test appliance: the boot sector alone, or (for benchmarks) 1 MiB
// chunks of holes, compressible text and incompressible bytes.
import { createCipheriv, createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

/** Size of the chunks the `mixed` content is generated in, in bytes (1 MiB). */
export const CHUNK_SIZE_BYTES = 1024 * 1024;

type ChunkKind = 'hole' | 'text' | 'random';
/** Repeating pattern of chunk kinds for `mixed` content: 40% hole, 40% text, 20% random. */
const MIXED_PATTERN: readonly ChunkKind[] = ['text', 'hole', 'random', 'hole', 'text'];

const WORDS = (
  'appliance virtual machine disk controller network adapter memory processor firmware ' +
  'manifest descriptor envelope section reference capacity allocation resource volume ' +
  'pool domain import export convert stream grain sector header footer checksum'
).split(' ');

/** Fills `buf` with log-like, highly compressible but not constant ASCII text. */
function fillText(buf: Buffer, chunkIndex: number): void {
  let pos = 0;
  let line = 0;
  while (pos < buf.length) {
    const w1 = WORDS[(chunkIndex + line) % WORDS.length] ?? '';
    const w2 = WORDS[(line * 7 + 3) % WORDS.length] ?? '';
    const w3 = WORDS[(line * 13 + chunkIndex * 5) % WORDS.length] ?? '';
    const s = `chunk ${chunkIndex} line ${line}: ${w1} ${w2} ${w3} status=ok elapsed=${(line * 37) % 1000}ms\n`;
    pos += buf.write(s, pos, 'ascii');
    line += 1;
  }
}

/** Fills `buf` with deterministic incompressible bytes (AES-128-CTR keystream seeded by the chunk index). */
function fillRandom(buf: Buffer, chunkIndex: number): void {
  const key = createHash('sha256').update('virt-ovf appliance').digest().subarray(0, 16);
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(chunkIndex >>> 0, 0);
  const cipher = createCipheriv('aes-128-ctr', key, iv);
  const stream = cipher.update(Buffer.alloc(buf.length));
  stream.copy(buf);
}

/**
 * Writes the raw disk image: the boot sector at LBA 0, then (for `mixed`) 1 MiB chunks
 * following the 40% hole / 40% text / 20% random pattern. Holes are never written, so the
 * file is sparse. Memory use is one chunk.
 *
 * @param sizeBytes file size in bytes, a multiple of 512.
 */
export async function writeRawDisk(path: string, sector: Buffer, sizeBytes: number, content: 'boot' | 'mixed'): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.truncate(sizeBytes);
    if (content === 'boot') {
      await fh.write(sector, 0, sector.length, 0);
      return;
    }
    const chunk = Buffer.alloc(CHUNK_SIZE_BYTES);
    const chunks = Math.ceil(sizeBytes / CHUNK_SIZE_BYTES);
    for (let i = 0; i < chunks; i++) {
      const offset = i * CHUNK_SIZE_BYTES;
      const length = Math.min(CHUNK_SIZE_BYTES, sizeBytes - offset);
      const kind = i === 0 ? 'text' : (MIXED_PATTERN[i % MIXED_PATTERN.length] ?? 'hole');
      if (kind === 'hole') continue;
      const view = chunk.subarray(0, length);
      if (kind === 'text') fillText(view, i);
      else fillRandom(view, i);
      if (i === 0) sector.copy(view, 0);
      await fh.write(view, 0, length, offset);
    }
    if (chunks === 0) await fh.write(sector, 0, sector.length, 0);
  } finally {
    await fh.close();
  }
}
