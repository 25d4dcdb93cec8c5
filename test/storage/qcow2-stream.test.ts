// The sequential qcow2 encoder against qemu-img: clean images (check: no errors, no leaks) that
// hold exactly the guest bytes given (compare), for the edge layouts and sizes.
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileUploader, Qcow2StreamSink } from '../../src/storage/qcow2-stream/index.js';
import { assertSame, check, encode, pattern, virtualSize } from './qcow2-stream-helpers.js';
import { scratchDir } from './helpers.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

describe('Qcow2StreamSink', () => {
  it('writes an empty disk as header, L1, refcount table and block only', async () => {
    const { dir, cleanup } = await scratchDir();
    try {
      const r = await encode(join(dir, 'e.qcow2'), join(dir, 'e.raw'), 10 * MiB, []);
      await assertSame(join(dir, 'e.qcow2'), join(dir, 'e.raw'));
      assert.equal(r.layout.dataClusters, 0);
      assert.equal(r.layout.l2Tables, 0);
      assert.equal((await stat(join(dir, 'e.qcow2'))).size, 4 * 65536);
      assert.equal(await virtualSize(join(dir, 'e.qcow2')), 10 * MiB);
    } finally {
      await cleanup();
    }
  });

  it('stores partial clusters of a size that is not a multiple of the cluster, and rounds the virtual size up to 512 like qemu', async () => {
    const { dir, cleanup } = await scratchDir();
    try {
      const size = 3 * 65536 + 1000;
      const q = join(dir, 'p.qcow2');
      await encode(q, join(dir, 'p.raw'), size, [{ offset: 100, data: pattern(50, 1) }, { offset: 70_000, zero: 1000 }, { offset: size - 700, data: pattern(700, 2) }]);
      await assertSame(q, join(dir, 'p.raw'));
      assert.equal(await virtualSize(q), Math.ceil(size / 512) * 512);
      assert.equal((await check(q)).allocated, 2);
    } finally {
      await cleanup();
    }
  });

  it('leaves clusters of zeros out and joins writes that share a cluster', async () => {
    const { dir, cleanup } = await scratchDir();
    try {
      const q = join(dir, 'z.qcow2');
      const ranges = [
        { offset: 0, data: new Uint8Array(3 * 65536) },
        { offset: 3 * 65536, data: pattern(10, 3) },
        { offset: 3 * 65536 + 10, data: pattern(65526, 4) },
        { offset: 5 * 65536 - 1, data: pattern(2, 5) },
      ];
      const r = await encode(q, join(dir, 'z.raw'), 8 * MiB, ranges, 65536);
      await assertSame(q, join(dir, 'z.raw'));
      assert.equal(r.layout.dataClusters, 3, 'cluster 3, and clusters 4 and 5 touched by the last write');
      assert.equal(r.fileBytes, (await stat(q)).size);
      assert.equal(r.bytesUploaded, r.fileBytes + 112, 'the file once, and the header again');
    } finally {
      await cleanup();
    }
  });

  it('maps a mostly sparse 16 GiB disk with one L2 table per 512 MiB that holds data', async () => {
    const { dir, cleanup } = await scratchDir();
    try {
      const q = join(dir, 's.qcow2');
      const ranges = [0, 1, 700, 8192, 16 * 1024 - 1].map((mib, i) => ({ offset: mib * MiB, data: pattern(MiB, i) }));
      const r = await encode(q, join(dir, 's.raw'), 16 * GiB, ranges);
      await assertSame(q, join(dir, 's.raw'));
      assert.equal(r.layout.l2Tables, 4);
      assert.equal(r.layout.dataClusters, 5 * 16);
    } finally {
      await cleanup();
    }
  });

  it('keeps memory bounded while 512 MiB of data spread over 16 GiB goes through (8 bytes per stored cluster, a bounded queue)', async () => {
    const { dir, cleanup } = await scratchDir();
    const { open } = await import('node:fs/promises');
    const fh = await open(join(dir, 'm.qcow2'), 'wx');
    try {
      const sink = new Qcow2StreamSink({ capacityBytes: 16 * GiB, uploader: fileUploader(fh), label: 'm.qcow2' });
      const piece = pattern(4 * MiB, 7);
      const before = process.memoryUsage().rss;
      let peak = before;
      for (let i = 0; i < 128; i++) {
        await sink.write(i * 128 * MiB, piece);
        peak = Math.max(peak, process.memoryUsage().rss);
      }
      await sink.finish();
      assert.equal(sink.result!.layout.dataClusters, 128 * 64);
      assert.ok(peak - before < 96 * MiB, `RSS grew by ${((peak - before) / MiB).toFixed(0)} MiB`);
      assert.deepEqual(await check(join(dir, 'm.qcow2')), { corruptions: 0, leaks: 0, allocated: 128 * 64 });
    } finally {
      await fh.close();
      await cleanup();
    }
  });

  it('sizes the L1 table and refcounts of a 1 TiB disk and of a 15 TiB one (an L1 table of 4 clusters)', async () => {
    const { dir, cleanup } = await scratchDir();
    try {
      for (const [name, size] of [['t1', 2 ** 40], ['t15', 15 * 2 ** 40 + 512]] as const) {
        const q = join(dir, `${name}.qcow2`);
        const ranges = [{ offset: 0, data: pattern(4096, 1) }, { offset: size / 2 - 65536, data: pattern(65536 * 3, 2) }, { offset: size - 512, data: pattern(512, 3) }];
        const r = await encode(q, join(dir, `${name}.raw`), size, ranges);
        await assertSame(q, join(dir, `${name}.raw`));
        assert.equal(await virtualSize(q), size);
        assert.equal(r.layout.l1Entries, Math.ceil(size / (512 * MiB)));
        assert.equal(r.layout.l1Clusters, Math.ceil((r.layout.l1Entries * 8) / 65536));
      }
    } finally {
      await cleanup();
    }
  });

  it('refuses a range before the previous one, outside the disk, or after finish', async () => {
    const { dir, cleanup } = await scratchDir();
    const { open } = await import('node:fs/promises');
    const fh = await open(join(dir, 'x.qcow2'), 'wx');
    try {
      const sink = new Qcow2StreamSink({ capacityBytes: MiB, uploader: fileUploader(fh), label: 'x.qcow2' });
      await sink.write(65536, pattern(10, 1));
      await assert.rejects(sink.write(0, pattern(10, 1)), RangeError);
      await assert.rejects(sink.zero(MiB - 10, 11), RangeError);
      await sink.finish();
      await assert.rejects(sink.write(MiB - 10, pattern(1, 1)), /after finish/);
      assert.equal(sink.bytesWritten, 10);
    } finally {
      await fh.close();
      await cleanup();
    }
  });

  it('fails write and finish with the uploader error, and abort never throws', async () => {
    const failing = { upload: async (_o: number, bytes: AsyncIterable<Uint8Array> | Uint8Array) => {
      if (bytes instanceof Uint8Array) return;
      for await (const _c of bytes) throw new Error('stream broken');
    } };
    const sink = new Qcow2StreamSink({ capacityBytes: 64 * MiB, uploader: failing, label: 'f', chunkBytes: 65536, queueBytes: 65536 });
    const writes = async (): Promise<void> => {
      for (let i = 0; i < 1000; i++) await sink.write(i * 65536, pattern(65536, i));
    };
    await assert.rejects(writes(), /stream broken/);
    await assert.rejects(sink.finish(), /stream broken/);
    await sink.abort();
  });
});
