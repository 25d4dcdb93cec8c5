// NbdSink over a real qemu-nbd: the bytes written, zeroed and never mentioned read back as qemu-img
// sees them (qcow2, raw, a loop block device with old data), and a failure leaves no child or socket.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { execa } from 'execa';
import { NbdSink } from '../../src/transfer/nbd-sink.js';
import { Coverage } from '../../src/transfer/coverage.js';
import { withTempDir } from '../ovf/helpers.js';

const MiB = 2 ** 20;

/** The raw guest bytes of `path` (qemu-img convert to raw). */
async function guestBytes(dir: string, path: string, format: string): Promise<Buffer> {
  const out = join(dir, `read-${Date.now()}.raw`);
  await execa('qemu-img', ['convert', '-f', format, '-O', 'raw', path, out]);
  return readFile(out);
}

/** Our qemu-nbd socket directories under the temp dir (none may be left). */
async function nbdDirs(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((n) => n.startsWith('virt-ovf-nbd-'));
}

/** Writes a pattern: small adjacent writes (gathered), a large write, a zero range, an untouched tail; returns the expected bytes. */
async function writePattern(sink: NbdSink, size: number): Promise<Buffer> {
  const expected = Buffer.alloc(size);
  // 64 KiB grains, out of order in pairs, as parallel decoders deliver them.
  const grains = Array.from({ length: 48 }, (_, i) => i ^ 1);
  await Promise.all(
    grains.map((g) => {
      const data = randomBytes(64 * 1024);
      data.copy(expected, g * 64 * 1024);
      return sink.write(g * 64 * 1024, data);
    }),
  );
  await sink.zero(3 * MiB, MiB);
  const big = randomBytes(5 * MiB);
  big.copy(expected, 4 * MiB);
  await sink.write(4 * MiB, big);
  const odd = randomBytes(1000);
  odd.copy(expected, 9 * MiB + 512);
  await sink.write(9 * MiB + 512, odd);
  return expected;
}

describe('NbdSink over qemu-nbd', () => {
  for (const format of ['qcow2', 'raw'] as const) {
    it(`writes a ${format} image that reads back as the bytes sent, zeros elsewhere`, async () => {
      await withTempDir(async (dir) => {
        const size = 16 * MiB;
        const path = join(dir, `t.${format}`);
        await execa('qemu-img', ['create', '-q', '-f', format, path, String(size)]);
        const before = await nbdDirs();
        const sink = await NbdSink.open({ kind: 'path', path, format }, { zeroInitialized: true, label: path });
        assert.equal(sink.capacityBytes, size);
        assert.equal(sink.sequential, false);
        const expected = await writePattern(sink, size);
        await sink.finish();
        assert.equal(sink.bytesWritten, 48 * 64 * 1024 + 5 * MiB + 1000);
        assert.ok((await guestBytes(dir, path, format)).equals(expected), 'guest bytes differ');
        assert.deepEqual(await nbdDirs(), before, 'the socket directory is removed');
      });
    });
  }

  it('zeroes what it was told to and what it never heard of on a target holding old data', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root for a loop device');
    await withTempDir(async (dir) => {
      const size = 16 * MiB;
      const backing = join(dir, 'old.img');
      await writeFile(backing, Buffer.alloc(size, 0xaa));
      const loop = (await execa('losetup', ['--find', '--show', backing])).stdout.trim();
      try {
        const sink = await NbdSink.open({ kind: 'path', path: loop, format: 'raw' }, { zeroInitialized: false, label: loop });
        const expected = await writePattern(sink, size);
        await sink.finish();
        assert.ok((await readFile(backing)).equals(expected), 'old bytes survived where zeros were due');
      } finally {
        await execa('losetup', ['-d', loop]);
      }
    });
  });

  it('refuses a range outside the disk, and abort stops qemu-nbd and removes its socket directory', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 't.qcow2');
      await execa('qemu-img', ['create', '-q', '-f', 'qcow2', path, String(MiB)]);
      const before = await nbdDirs();
      const sink = await NbdSink.open({ kind: 'path', path, format: 'qcow2' }, { zeroInitialized: true, label: path });
      await assert.rejects(sink.write(MiB - 10, Buffer.alloc(20)), RangeError);
      await sink.abort();
      assert.deepEqual(await nbdDirs(), before);
      await assert.rejects(sink.write(0, Buffer.alloc(20)));
    });
  });

  it('reports qemu-nbd\'s own message when it cannot open the image', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'not-qcow2');
      await writeFile(path, Buffer.alloc(4096));
      await assert.rejects(NbdSink.open({ kind: 'path', path, format: 'qcow2' }, { zeroInitialized: true, label: path }), (err: Error) => {
        assert.equal(err.name, 'ToolError');
        assert.match(err.message, /qemu-nbd could not serve .*not-qcow2: .*qcow2/i);
        return true;
      });
    });
  });
});

describe('Coverage', () => {
  it('merges ranges added in any order and lists the gaps', () => {
    const c = new Coverage();
    c.add(10, 10);
    c.add(40, 5);
    c.add(0, 5);
    c.add(20, 5);
    c.add(30, 12);
    assert.deepEqual(c.gaps(60), [
      { offset: 5, length: 5 },
      { offset: 25, length: 5 },
      { offset: 45, length: 15 },
    ]);
    c.add(0, 60);
    assert.deepEqual(c.gaps(60), []);
  });
});
