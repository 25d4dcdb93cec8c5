// Resource exhaustion of the target (issue 4, hostile input 4; issue 9, temporary space): a pool
// on an 8 MiB tmpfs, and disks that declare, or hide, more data than it can hold.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { watch } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { buildAppliance, type ApplianceResult } from '../../scripts/appliance.js';
import { ensureLibvirtd } from '../libvirt/harness.js';
import { mountTmpfs, type Tmpfs } from '../storage/tmpfs.js';
import { assertRefused, dropImport } from './checks.js';
import { baseFiles, FMT, packOva, setUp, tearDown, TEST_URI, uniqueName, type OvfEdit, type Scene } from './kit.js';
import { importPkg } from './run.js';

const MiB = 2 ** 20;

/** A raw disk of `virtualBytes` holding `dataBytes` of random data at 8 MiB (the rest zeros), gzip-compressed. */
function gzipRaw(virtualBytes: number, dataBytes: number): Buffer {
  const image = Buffer.alloc(virtualBytes);
  randomBytes(dataBytes).copy(image, 8 * MiB);
  return gzipSync(image, { level: 1 });
}

/** Descriptor edits for a gzip-compressed raw disk `app-disk1.img` of `capacity` bytes. */
function gzipRawEdit(capacity: number, populatedSize: number): OvfEdit {
  return { href: 'app-disk1.img', format: FMT.raw, compression: 'gzip', capacity, populatedSize };
}

const SMALL_BYTES = 8 * 2 ** 20;

describe('a pool too small for the disk', () => {
  let s: Scene;
  let mounted: string | undefined;
  let poolName: string | undefined;
  let mixed: ApplianceResult;

  before(async () => {
    await ensureLibvirtd();
    const dir = await mkdtemp(join(tmpdir(), 'virt-ovf-hostile-tmpfs-'));
    await execa('mount', ['-t', 'tmpfs', '-o', `size=${SMALL_BYTES}`, 'tmpfs', dir]);
    mounted = dir;
    await chmod(dir, 0o755);
    const name = uniqueName('virt-ovf-hostile-small');
    await execa('virsh', ['-c', TEST_URI, 'pool-create-as', name, 'dir', '--target', dir]);
    poolName = name;
    const cleanup = async () => {
      await execa('virsh', ['-c', TEST_URI, 'pool-destroy', name], { reject: false });
      await execa('umount', [dir], { reject: false });
      await rmdir(dir).catch(() => undefined);
    };
    s = await setUp('space', { pool: { name, path: dir, cleanup } });
    mixed = await buildAppliance({ dir: join(s.work, 'mixed'), name: 'mixed', content: 'mixed', diskSizeBytes: 32 * 2 ** 20, manifest: 'none', ova: false });
  });
  after(async () => {
    if (s) await tearDown(s);
    else if (mounted) {
      if (poolName) await execa('virsh', ['-c', TEST_URI, 'pool-destroy', poolName], { reject: false });
      await execa('umount', [mounted], { reject: false });
    }
  });

  test('4. ovf:populatedSize above the free space: exit 4 before any volume is created', async () => {
    const ova = await packOva(s, 'too-big', baseFiles(s, { capacity: 64 * 2 ** 20, populatedSize: 16 * 2 ** 20 }));
    const run = await importPkg(s, ova);
    await assertRefused(s, run, {
      code: 4,
      message: [new RegExp(`the 1 drive\\(s\\) of ${run.name} needs 16777216 bytes \\(16\\.0 MiB\\) but pool "${s.pool.name}" has only \\d+ bytes \\([\\d.]+ [KM]iB\\) free`)],
      qemu: 'none',
    });
    assert.doesNotMatch(run.stderr, /Converting disk/);
  });

  for (const converter of ['qemu-img', 'auto'] as const) {
    test(`4. a populatedSize that lies (4 KiB for 19 MiB of data): conversion hits ENOSPC, exit 5, the volume is rolled back (--converter ${converter})`, async () => {
      const text = (await readFile(mixed.ovf, 'utf8')).replace(/ovf:populatedSize="\d+"/, 'ovf:populatedSize="4096"');
      assert.match(text, /ovf:populatedSize="4096"/);
      const ova = await packOva(s, `liar-${converter}`, { 'mixed.ovf': text, 'mixed-disk1.vmdk': { copy: mixed.vmdk } });
      const run = await importPkg(s, ova, { args: ['--converter', converter] });
      // auto: the qcow2 encoder writes the new volume in place (pwrite), so the OS error is the one reported.
      const what = converter === 'qemu-img' ? /qemu-img convert failed: .*No space left on device/ : /writing the disk failed: ENOSPC: no space left on device, write/;
      await assertRefused(s, run, {
        code: 5,
        message: [what, new RegExp(`\\(writing ${s.pool.path}/${run.name}-vmdisk1\\.qcow2\\): the filesystem mounted at ${s.pool.path} is full`), new RegExp(`Rolled back: volume ${run.name}-vmdisk1\\.qcow2`)],
        qemu: converter === 'qemu-img' ? 'any' : 'none',
      });
      const df = await execa('df', ['--output=used', '-B1', s.pool.path]);
      assert.ok(Number(df.stdout.split('\n')[1]) < 64 * 1024, `tmpfs still holds data: ${df.stdout}`);
    });
  }

  test('9. a gzip disk whose populatedSize lies fills the pool while converting (its copy is in TMPDIR): exit 5 naming the full filesystem, rolled back', async () => {
    const ova = await packOva(s, 'gzip-liar', baseFiles(s, gzipRawEdit(32 * MiB, 4096), gzipRaw(32 * MiB, 16 * MiB)));
    const run = await importPkg(s, ova, { args: ['--converter', 'qemu-img'] });
    await assertRefused(s, run, {
      code: 5,
      message: [
        new RegExp(`qemu-img convert failed: .*No space left on device.* \\(writing ${s.pool.path}/${run.name}-vmdisk1\\.qcow2\\): the filesystem mounted at ${s.pool.path} is full`),
        new RegExp(`Rolled back: volume ${run.name}-vmdisk1\\.qcow2`),
      ],
      qemu: 'any',
    });
  });

  test('9. the same gzip disk streamed (no copy) fills the pool through the qcow2 encoder: exit 5 naming the full filesystem, rolled back', async () => {
    const run = await importPkg(s, join(s.pkgDir, 'gzip-liar.ova'));
    await assertRefused(s, run, {
      code: 5,
      message: [
        new RegExp(`writing the disk failed: .*no space left on device.* \\(writing ${s.pool.path}/${run.name}-vmdisk1\\.qcow2\\): the filesystem mounted at ${s.pool.path} is full`, 'i'),
        new RegExp(`Rolled back: volume ${run.name}-vmdisk1\\.qcow2`),
      ],
    });
  });
});

describe('temporary copies: in TMPDIR, sparse, counted where they live', () => {
  let s: Scene;
  const mounts: Tmpfs[] = [];
  let gz4: Buffer;
  let gz12: Buffer;

  /** A tmpfs of `sizeBytes` at `${work}/tmp/LABEL` (inside the work tree, where qemu-img may read temporary files). */
  async function tmpfs(label: string, sizeBytes: number): Promise<Tmpfs> {
    const fs = await mountTmpfs(join(s.work, 'tmp'), label, sizeBytes);
    assert.ok(fs, 'mounting a tmpfs needs root');
    mounts.push(fs);
    return fs;
  }

  before(async () => {
    await ensureLibvirtd();
    const parent = await mkdtemp(join(tmpdir(), 'virt-ovf-hostile-pool64-'));
    const fs = await mountTmpfs(parent, 'pool', 64 * MiB);
    assert.ok(fs, 'mounting a tmpfs needs root');
    const name = uniqueName('virt-ovf-hostile-pool64');
    await execa('virsh', ['-c', TEST_URI, 'pool-create-as', name, 'dir', '--target', fs.path]);
    const cleanup = async () => {
      await execa('virsh', ['-c', TEST_URI, 'pool-destroy', name], { reject: false });
      await fs.unmount();
      await rmdir(parent).catch(() => undefined);
    };
    s = await setUp('tempspace', { pool: { name, path: fs.path, cleanup } });
    gz4 = gzipRaw(100 * MiB, 4 * MiB);
    gz12 = gzipRaw(100 * MiB, 12 * MiB);
  });
  after(async () => {
    for (const m of mounts) await m.unmount();
    await tearDown(s);
  });

  test('a 100 MiB-virtual, 4 MiB-data gzip disk imports into a 64 MiB pool, and its temporary copy never appears in the pool directory', async () => {
    const ova = await packOva(s, 'gz4', baseFiles(s, gzipRawEdit(100 * MiB, 4 * MiB), gz4));
    const seen = new Set<string>();
    const watcher = watch(s.pool.path, (_event, file) => file && seen.add(String(file)));
    const run = await importPkg(s, ova).finally(() => watcher.close());
    try {
      assert.equal(run.code, 0, run.stderr);
      const volume = `${run.name}-vmdisk1.qcow2`;
      assert.deepEqual([...seen].filter((f) => f !== volume), [], 'only the volume appeared in the pool directory');
      const raw = join(s.work, 'gz4.raw');
      await writeFile(raw, gunzipSync(gz4));
      await execa('qemu-img', ['compare', '-f', 'raw', '-F', 'qcow2', raw, join(s.pool.path, volume)]);
      await rm(raw);
    } finally {
      await dropImport(s, run);
    }
  });

  test('with --tmpdir on a 16 MiB tmpfs the same disk imports: the copy of 100 MiB is sparse, and removed', async () => {
    const small = await tmpfs('small16', 16 * MiB);
    const run = await importPkg(s, join(s.pkgDir, 'gz4.ova'), { args: ['--tmpdir', small.path] });
    try {
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(await readdir(small.path), [], 'the temporary directory is removed');
    } finally {
      await dropImport(s, run);
    }
  });

  test('--tmpdir on an 8 MiB tmpfs, too small for 12 MiB of data: exit 4 before anything is created', async () => {
    const small = await tmpfs('small8', 8 * MiB);
    const ova = await packOva(s, 'gz12', baseFiles(s, gzipRawEdit(100 * MiB, 12 * MiB), gz12));
    const run = await importPkg(s, ova, { args: ['--tmpdir', small.path, '--converter', 'qemu-img'] });
    await assertRefused(s, run, {
      code: 4,
      message: [new RegExp(`temporary space for the 1 drive\\(s\\) of ${run.name} needs 12582912 bytes \\(12\\.0 MiB\\) but directory ${small.path} has only \\d+ bytes .* free; free some space, or choose another temporary directory \\(--tmpdir\\)`)],
    });
  });

  test('--tmpdir on an 8 MiB tmpfs that fills while decompressing (populatedSize lies): exit 5 naming it, nothing left', async () => {
    const small = mounts.find((m) => m.path.endsWith('small8')) ?? (await tmpfs('small8', 8 * MiB));
    const ova = await packOva(s, 'gz12-liar', baseFiles(s, gzipRawEdit(100 * MiB, 4096), gz12));
    const run = await importPkg(s, ova, { args: ['--tmpdir', small.path, '--converter', 'qemu-img'] });
    await assertRefused(s, run, {
      code: 5,
      message: [new RegExp(`cannot write the temporary copy of "app-disk1\\.img" \\(writing ${small.path}/virt-ovf-[\\w-]+/source\\): the filesystem mounted at ${small.path} is full; choose another temporary directory with --tmpdir`)],
    });
    assert.deepEqual(await readdir(small.path), []);
  });

  test('the auto converter streams the 12 MiB gzip raw disk with --tmpdir on the 8 MiB tmpfs: imported, identical, the tmpfs never used', async () => {
    const small = mounts.find((m) => m.path.endsWith('small8')) ?? (await tmpfs('small8', 8 * MiB));
    const seen = new Set<string>();
    const watcher = watch(small.path, (_event, file) => file && seen.add(String(file)));
    const run = await importPkg(s, join(s.pkgDir, 'gz12.ova'), { args: ['--tmpdir', small.path] }).finally(() => watcher.close());
    try {
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual([...seen], [], 'nothing was written into the temporary directory');
      const raw = join(s.work, 'gz12.raw');
      await writeFile(raw, gunzipSync(gz12));
      await execa('qemu-img', ['compare', '-f', 'raw', '-F', 'qcow2', raw, join(s.pool.path, `${run.name}-vmdisk1.qcow2`)]);
      await rm(raw);
    } finally {
      await dropImport(s, run);
    }
  });

  test('--tmpdir inside the pool directory: exit 2', async () => {
    const run = await importPkg(s, join(s.pkgDir, 'gz4.ova'), { args: ['--tmpdir', s.pool.path] });
    await assertRefused(s, run, { code: 2, message: [new RegExp(`temporary directory ${s.pool.path} lies inside pool "${s.pool.name}" \\(${s.pool.path}\\); choose another temporary directory with --tmpdir`)] });
  });

  test('a pool and --tmpdir on one 12 MiB filesystem: the check counts their sum (7 + 7 MiB), exit 4', async () => {
    const shared = await tmpfs('shared12', 12 * MiB);
    await mkdir(join(shared.path, 'pool'));
    await mkdir(join(shared.path, 'tmp'));
    const name = uniqueName('virt-ovf-hostile-shared');
    await execa('virsh', ['-c', TEST_URI, 'pool-create-as', name, 'dir', '--target', join(shared.path, 'pool')]);
    const scene: Scene = { ...s, pool: { name, path: join(shared.path, 'pool'), cleanup: async () => undefined } };
    try {
      const ova = await packOva(s, 'gz7', baseFiles(s, gzipRawEdit(100 * MiB, 7 * MiB), gzipRaw(100 * MiB, 7 * MiB)));
      const run = await importPkg(scene, ova, { args: ['--tmpdir', join(shared.path, 'tmp'), '--converter', 'qemu-img'] });
      await assertRefused(scene, run, {
        code: 4,
        message: [new RegExp(`the 1 drive\\(s\\) of ${run.name}, with their temporary copies in ${shared.path}/tmp, needs 14680064 bytes \\(14\\.0 MiB\\) but pool "${name}" has only`)],
      });
    } finally {
      await execa('virsh', ['-c', TEST_URI, 'pool-destroy', name], { reject: false });
    }
  });
});
