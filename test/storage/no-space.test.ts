// A full filesystem is its own error (exit 5) naming its mount point: qemu-img convert into a full tmpfs, mountPointOf.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NoSpaceError } from '../../src/errors.js';
import { mountPointOf } from '../../src/storage/no-space.js';
import { convertImage, createImage } from '../../src/storage/qemu-img.js';
import { scratchDir, sourceOf } from './helpers.js';
import { mountTmpfs, type Tmpfs } from './tmpfs.js';

const MiB = 2 ** 20;

describe('a full filesystem', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let fs: Tmpfs | undefined;

  before(async () => {
    ({ dir, cleanup } = await scratchDir());
    fs = await mountTmpfs(dir, 'small', 4 * MiB);
  });
  after(async () => {
    await fs?.unmount();
    await cleanup?.();
  });

  it('mountPointOf names the mount point of a file, existing or not, and of / itself', async (t) => {
    if (!fs) return t.skip('mounting a tmpfs needs root');
    assert.equal(await mountPointOf(fs.path), fs.path);
    assert.equal(await mountPointOf(join(fs.path, 'missing', 'deeper', 'file')), fs.path);
    assert.equal(await mountPointOf('/'), '/');
  });

  it('qemu-img convert filling the target filesystem is a NoSpaceError (exit 5) naming the target and the mount point', async (t) => {
    if (!fs) return t.skip('mounting a tmpfs needs root');
    const raw = join(dir, 'data.raw');
    await writeFile(raw, randomBytes(16 * MiB));
    const target = join(fs.path, 'out.qcow2');
    const err = await convertImage({ src: await sourceOf(raw, 'raw'), target, targetFormat: 'qcow2', existingTarget: false }).then(
      () => assert.fail('converted 16 MiB of random data into 4 MiB'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof NoSpaceError, `a NoSpaceError, not ${String(err)}`);
    assert.equal(err.exitCode, 5);
    assert.equal(err.path, target);
    assert.equal(err.mountPoint, fs.path);
    assert.match(err.message, new RegExp(`^qemu-img convert failed: .*No space left on device.* \\(writing ${target}\\): the filesystem mounted at ${fs.path} is full; free some space there, or choose another pool or output directory$`));
  });

  it('qemu-img create of a preallocated image on the full filesystem is a NoSpaceError too', async (t) => {
    if (!fs) return t.skip('mounting a tmpfs needs root');
    for (const f of await readdir(fs.path)) await rm(join(fs.path, f));
    const filler = join(fs.path, 'filler');
    await writeFile(filler, randomBytes(4 * MiB)).catch(() => undefined); // fills it to the last byte
    const err = await createImage(join(fs.path, 'new.qcow2'), 'qcow2', 64 * MiB).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof NoSpaceError, `a NoSpaceError, not ${String(err)}`);
    assert.equal(err.mountPoint, fs.path);
  });
});
