// OS errors of export on a real libvirtd: a read-only or missing output directory, a missing disk file, an existing file in DIR/ — each a clean exit naming the path, nothing left.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../commands/helpers.js';
import { ensureLibvirtd, TEST_URI, uniqueName } from '../libvirt/harness.js';
import type { Tmpfs } from '../storage/tmpfs.js';
import { assertCleanError, readOnlyTmpfs, snapshot } from './errors-kit.js';
import { assertCleanupFindsNothing } from './cleanup-check.js';

/** Defines a stopped TCG domain with one raw SATA disk at `disk` (the file need not exist). */
async function defineWithDisk(dir: string, name: string, disk: string): Promise<void> {
  const xml = join(dir, `${name}.xml`);
  await writeFile(xml, `<domain type='qemu'><name>${name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os><devices><disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${disk}'/><target dev='sda' bus='sata'/></disk></devices></domain>`);
  await execa('virsh', ['-c', TEST_URI, 'define', xml]);
}

describe('export: OS errors are clean exits naming the path', () => {
  after(assertCleanupFindsNothing);
  let work = '';
  let ro: Tmpfs | undefined;
  const dom = uniqueName('errs-export');
  const gone = uniqueName('errs-gone');

  before(async () => {
    await ensureLibvirtd();
    work = await mkdtemp(join(tmpdir(), 'virt-ovf-errors-export-'));
    await execa('qemu-img', ['create', '-q', '-f', 'raw', join(work, 'disk.raw'), '4M']);
    await defineWithDisk(work, dom, join(work, 'disk.raw'));
    await defineWithDisk(work, gone, join(work, 'deleted-disk.raw'));
    ro = await readOnlyTmpfs(work, 'ro', async (path) => {
      await writeFile(join(path, 'keep.txt'), 'kept\n');
      await mkdir(join(path, 'sub'));
    });
  });
  after(async () => {
    for (const d of [dom, gone]) await execa('virsh', ['-c', TEST_URI, 'undefine', d], { reject: false });
    await ro?.unmount();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('an OVA into a read-only directory is exit 2 naming the directory; its files are untouched', async (t) => {
    if (!ro) return t.skip('a read-only tmpfs needs root');
    const before0 = await snapshot(ro.path);
    const r = await runCli(['export', dom, '-o', join(ro.path, 'out.ova')]);
    assertCleanError(r, 2, new RegExp(`cannot create a directory in ${ro.path}: the filesystem is mounted read-only; remount it read-write, or choose another output \\(--output\\)`));
    assert.deepEqual(await snapshot(ro.path), before0);
  });

  test('an OVF directory inside a read-only filesystem is exit 2 naming where it could not write', async (t) => {
    if (!ro) return t.skip('a read-only tmpfs needs root');
    const before0 = await snapshot(ro.path);
    const r = await runCli(['export', dom, '-o', `${join(ro.path, 'sub')}/`]);
    assertCleanError(r, 2, new RegExp(`${ro.path}: the filesystem is mounted read-only`));
    assert.deepEqual(await snapshot(ro.path), before0);
  });

  test('an output whose directory does not exist is exit 2 naming it, before the domain is read', async () => {
    const r = await runCli(['export', dom, '-o', join(work, 'no-such-dir', 'out.ova')]);
    assertCleanError(r, 2, new RegExp(`the directory ${join(work, 'no-such-dir')} does not exist`));
    assert.deepEqual(await readdir(work).then((n) => n.filter((f) => f.startsWith('no-such-dir'))), []);
  });

  test('a disk file the domain names but that is gone is exit 4 naming it and how to fix the domain; nothing is left', async () => {
    const out = join(work, 'gone-out');
    await mkdir(out);
    const r = await runCli(['export', gone, '-o', join(out, 'gone.ova')]);
    assertCleanError(r, 4, new RegExp(`cannot open ${join(work, 'deleted-disk.raw')}: it does not exist; domain "${gone}" uses it .*virsh -c qemu:///system edit ${gone}`));
    assert.deepEqual(await readdir(out), [], 'the OVA, its .part or the working directory was left');
  });

  test('an existing file inside an export directory is exit 2 naming it; it stays byte-identical and nothing is added', async () => {
    const dir = join(work, 'existing');
    await mkdir(dir);
    await writeFile(join(dir, `${dom}.mf`), 'not a manifest, but mine\n');
    const before0 = await snapshot(dir);
    const r = await runCli(['export', dom, '-o', `${dir}/`]);
    assertCleanError(r, 2, new RegExp(`${join(dir, `${dom}.mf`)} already exists; .*\\(--force\\)`));
    assert.deepEqual(await snapshot(dir), before0);
  });
});
