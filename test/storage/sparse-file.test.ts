// SparseFileWriter: zero runs become holes (allocated blocks ≪ length), the file reads back byte for byte, ENOSPC surfaces as such.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { SPARSE_BLOCK_BYTES, SparseFileWriter } from '../../src/storage/sparse-file.js';
import { scratchDir } from './helpers.js';
import { mountTmpfs, type Tmpfs } from './tmpfs.js';

const MiB = 2 ** 20;

/** A 100 MiB disk image with 4 MiB of random data: 3 MiB at 10 MiB, 1 MiB straddling blocks at 77 MiB + 1000 bytes. */
function sparseImage(): Buffer {
  const image = Buffer.alloc(100 * MiB);
  randomBytes(3 * MiB).copy(image, 10 * MiB);
  randomBytes(MiB).copy(image, 77 * MiB + 1000);
  return image;
}

/** `image` as a stream of chunks of odd sizes, so no chunk boundary falls on a block boundary. */
function oddChunks(image: Buffer): Readable {
  return Readable.from(
    (function* () {
      for (let at = 0, i = 0; at < image.length; i++) {
        const n = [10_007, 65_535, 200_003, 1][i % 4]!;
        yield image.subarray(at, at + n);
        at += n;
      }
    })(),
  );
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('SparseFileWriter', () => {
  let dir: string;
  let cleanup: () => Promise<void>;

  before(async () => ({ dir, cleanup } = await scratchDir()));
  after(() => cleanup?.());

  it('writes a 100 MiB image holding 4 MiB of data into about 4 MiB of blocks, identical when read back', async () => {
    const image = sparseImage();
    const path = join(dir, 'image.raw');
    const writer = new SparseFileWriter(path);
    await pipeline(oddChunks(image), writer);
    const st = await stat(path);
    assert.equal(st.size, image.length);
    assert.equal(writer.lengthBytes, image.length);
    assert.ok(writer.dataBytes <= 4 * MiB + 2 * SPARSE_BLOCK_BYTES, `wrote ${writer.dataBytes} bytes of data`);
    assert.ok(st.blocks * 512 < 6 * MiB, `allocated ${st.blocks * 512} bytes for ${st.size}`);
    assert.equal(sha(await readFile(path)), sha(image));
  });

  it('extends a file that ends in zeros to its full length (ftruncate), and keeps a short non-zero tail', async () => {
    const zeros = join(dir, 'zeros.raw');
    await pipeline(Readable.from([Buffer.alloc(3 * SPARSE_BLOCK_BYTES + 17)]), new SparseFileWriter(zeros));
    const st = await stat(zeros);
    assert.equal(st.size, 3 * SPARSE_BLOCK_BYTES + 17);
    assert.equal(st.blocks, 0, 'an all-zero file is one hole');
    const tail = Buffer.concat([Buffer.alloc(SPARSE_BLOCK_BYTES), Buffer.from('end')]);
    const tailed = join(dir, 'tail.raw');
    await pipeline(Readable.from([tail]), new SparseFileWriter(tailed));
    assert.deepEqual(await readFile(tailed), tail);
  });

  it('never opens an existing file (EEXIST), leaving it as it was', async () => {
    const path = join(dir, 'existing');
    await writeFile(path, 'keep me');
    await assert.rejects(pipeline(Readable.from([Buffer.from('x')]), new SparseFileWriter(path)), { code: 'EEXIST' });
    assert.equal(await readFile(path, 'utf8'), 'keep me');
  });

  describe('on a full filesystem', () => {
    let fs: Tmpfs | undefined;
    before(async () => (fs = await mountTmpfs(dir, 'full', 2 * MiB)));
    after(() => fs?.unmount());

    it('holds 32 MiB with 1 MiB of data in 2 MiB, and fails with ENOSPC once the data no longer fits', async (t) => {
      if (!fs) return t.skip('mounting a tmpfs needs root');
      const image = Buffer.alloc(64 * MiB);
      randomBytes(MiB).copy(image, 0); // fits
      randomBytes(2 * MiB).copy(image, 40 * MiB); // does not
      await pipeline(oddChunks(image.subarray(0, 32 * MiB)), new SparseFileWriter(join(fs.path, 'fits.raw')));
      await assert.rejects(pipeline(oddChunks(image), new SparseFileWriter(join(fs.path, 'full.raw'))), { code: 'ENOSPC' });
    });
  });
});
