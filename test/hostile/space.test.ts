// Resource exhaustion of the target (issue 4, hostile input 4): a pool on an 8 MiB tmpfs, and
// disks that declare, or hide, more data than it can hold.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { chmod, mkdtemp, readFile, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildAppliance, type ApplianceResult } from '../../scripts/appliance.js';
import { ensureLibvirtd } from '../libvirt/harness.js';
import { assertRefused } from './checks.js';
import { baseFiles, packOva, setUp, tearDown, TEST_URI, uniqueName, type Scene } from './kit.js';
import { importPkg } from './run.js';

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

  test('4. a populatedSize that lies (4 KiB for 19 MiB of data): conversion hits ENOSPC, exit 5, the volume is rolled back', async () => {
    const text = (await readFile(mixed.ovf, 'utf8')).replace(/ovf:populatedSize="\d+"/, 'ovf:populatedSize="4096"');
    assert.match(text, /ovf:populatedSize="4096"/);
    const ova = await packOva(s, 'liar', { 'mixed.ovf': text, 'mixed-disk1.vmdk': { copy: mixed.vmdk } });
    const run = await importPkg(s, ova);
    await assertRefused(s, run, {
      code: 5,
      message: [/qemu-img convert failed: .*No space left on device/, new RegExp(`Rolled back: volume ${run.name}-vmdisk1\\.qcow2`)],
      qemu: 'any',
    });
    const df = await execa('df', ['--output=used', '-B1', s.pool.path]);
    assert.ok(Number(df.stdout.split('\n')[1]) < 64 * 1024, `tmpfs still holds data: ${df.stdout}`);
  });
});
