// Qcow2FileSink on real qcow2 files made by qemu-img create: ascending ranges are encoded in place
// with no qemu-nbd; ranges that go back switch to qemu-nbd on the image so far; either way the
// image checks clean and reads back as the bytes sent, zeros elsewhere.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { execa } from 'execa';
import { Qcow2FileSink } from '../../src/transfer/qcow2-file-sink.js';
import { openStreamOptimized } from '../../src/storage/vmdk-stream/index.js';
import { craft, GRAIN, noise, qemuDecode, text } from '../storage/vmdk-stream-helpers.js';
import { withTempDir } from '../ovf/helpers.js';

const MiB = 2 ** 20;

/** A new qcow2 image of `size` bytes, as libvirt creates a volume (qemu-img create). */
async function newImage(dir: string, size: number): Promise<string> {
  const path = join(dir, `v-${Date.now()}.qcow2`);
  await execa('qemu-img', ['create', '-q', '-f', 'qcow2', path, String(size)]);
  return path;
}

/** qemu-img check is clean and the guest bytes equal `expected`. */
async function assertImage(dir: string, path: string, expected: Buffer): Promise<void> {
  const check = await execa('qemu-img', ['check', '-f', 'qcow2', path], { reject: false });
  assert.equal(check.exitCode, 0, `qemu-img check: ${check.stdout} ${check.stderr}`);
  const out = join(dir, 'read.raw');
  await execa('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', path, out]);
  assert.ok((await readFile(out)).equals(expected), 'the guest bytes are the ones sent');
}

const nbdDirs = async () => (await readdir(tmpdir())).filter((n) => n.startsWith('virt-ovf-nbd-'));

/** Runs `fn` with $TMPDIR (where qemu-nbd's socket directory goes) a private directory of `dir`, so other tests' sockets are not seen. */
async function privateTmp<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const saved = process.env['TMPDIR'];
  const tmp = join(dir, 'tmp');
  await mkdir(tmp);
  process.env['TMPDIR'] = tmp;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = saved;
  }
}

describe('Qcow2FileSink', () => {
  it('encodes ascending ranges in place, with no qemu-nbd, partial clusters and zero ranges included', () =>
    withTempDir(async (dir) => {
      const size = 8 * MiB + 4096;
      const path = await newImage(dir, size);
      const expected = Buffer.alloc(size);
      const sink = await Qcow2FileSink.open(path, { capacityBytes: size, label: 'test' });
      const put = async (offset: number, length: number) => {
        const data = randomBytes(length);
        data.copy(expected, offset);
        await sink.write(offset, data);
      };
      await put(0, 512);
      await put(4096, 70_000);
      await sink.zero(80_000, MiB);
      await put(3 * MiB, 2 * MiB);
      await put(8 * MiB, 4096);
      await sink.finish();
      assert.equal(sink.switched, false);
      await assertImage(dir, path, expected);
    }));

  it('switches to qemu-nbd when a range goes back, keeping what the encoder wrote; zeros over data are written', () =>
    withTempDir((dir) => privateTmp(dir, async () => {
      const size = 6 * MiB;
      const path = await newImage(dir, size);
      const expected = Buffer.alloc(size);
      const sink = await Qcow2FileSink.open(path, { capacityBytes: size, label: 'test' });
      const put = async (offset: number, length: number) => {
        const data = randomBytes(length);
        data.copy(expected, offset);
        await sink.write(offset, data);
      };
      await put(MiB, MiB);
      await put(4 * MiB, 65536);
      await put(0, 65536); // back: the encoder finishes, qemu-nbd takes the rest
      assert.equal(sink.switched, true);
      await sink.zero(MiB + 4096, 8192); // over data the encoder wrote: written as zeros
      expected.fill(0, MiB + 4096, MiB + 4096 + 8192);
      await sink.zero(5 * MiB, MiB); // beyond everything: reads as zeros already
      await put(5 * MiB + 512, 1024);
      await sink.finish();
      await assertImage(dir, path, expected);
      assert.deepEqual(await nbdDirs(), [], 'qemu-nbd and its socket directory are gone');
    })));

  it('takes a streamOptimized VMDK whose grains go back, through the decoder, equal to qemu-img convert', () =>
    withTempDir(async (dir) => {
      const capacitySectors = 700 * 128;
      const vmdk = craft({ capacitySectors, grains: [{ lba: 10 * 128, data: text(GRAIN, 1) }, { lba: 600 * 128, data: noise(GRAIN, 2) }, { lba: 3 * 128, data: text(GRAIN, 3) }] });
      const vmdkPath = join(dir, 'back.vmdk');
      await writeFile(vmdkPath, vmdk);
      const img = await openStreamOptimized((async function* () { yield vmdk; })(), { label: 'back.vmdk' });
      const path = await newImage(dir, img.capacityBytes);
      const sink = await Qcow2FileSink.open(path, { capacityBytes: img.capacityBytes, label: 'back' });
      await img.decodeInto(sink);
      assert.equal(sink.switched, true, 'the grain of LBA 384 went back');
      const q = await qemuDecode(vmdkPath, join(dir, 'q.raw'));
      assert.ok(q.ok);
      await assertImage(dir, path, q.raw);
    }));

  it('abort leaves no qemu-nbd behind, before and after the switch', () =>
    withTempDir((dir) => privateTmp(dir, async () => {
      for (const back of [false, true]) {
        const path = await newImage(dir, 4 * MiB);
        const sink = await Qcow2FileSink.open(path, { capacityBytes: 4 * MiB, label: 'test' });
        await sink.write(2 * MiB, randomBytes(65536));
        if (back) await sink.write(0, randomBytes(65536));
        await sink.abort();
        assert.equal(sink.switched, back);
      }
      assert.deepEqual(await nbdDirs(), []);
    })));
});
