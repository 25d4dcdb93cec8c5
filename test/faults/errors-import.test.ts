// OS errors of import on a real libvirtd: a missing source, a bare disk image, a read-only pool directory with a gzip disk, unusable output and temporary directories.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { buildAppliance, type ApplianceResult } from '../../scripts/appliance.js';
import { Connection, createPool, lookupPool } from '../../src/libvirt/index.js';
import { closeScratch, domainExists, openScratch, poolVolumes, runCli } from '../commands/helpers.js';
import { TEST_URI, uniqueName, type ScratchPool } from '../libvirt/harness.js';
import type { Tmpfs } from '../storage/tmpfs.js';
import { assertCleanError, readOnlyTmpfs, snapshot } from './errors-kit.js';
import { assertCleanupFindsNothing } from './cleanup-check.js';

describe('import: OS errors are clean exits naming the path', () => {
  after(assertCleanupFindsNothing);
  let pool: ScratchPool;
  let work: string;
  let app: ApplianceResult;
  let gzipOva = '';
  const mounts: Tmpfs[] = [];

  before(async () => {
    ({ pool, work } = await openScratch('errors-import'));
    app = await buildAppliance({ dir: join(work, 'app'), name: 'app', manifest: 'none' });
    const dir = join(work, 'gzip');
    await mkdir(dir);
    await writeFile(join(dir, 'app-disk1.vmdk'), gzipSync(await readFile(app.vmdk)));
    await writeFile(join(dir, 'app.ovf'), (await readFile(app.ovf, 'utf8')).replace(/ovf:id="file1"( ovf:size="\d+")?/, 'ovf:id="file1" ovf:compression="gzip"'));
    gzipOva = join(work, 'gzip.ova');
    await execa('tar', ['--format=ustar', '-cf', gzipOva, '-C', dir, 'app.ovf', 'app-disk1.vmdk']);
  });
  after(async () => {
    for (const m of mounts) await m.unmount();
    await closeScratch(pool, work, []);
  });

  test('a missing source is exit 2 saying so plainly, without errno text', async () => {
    const missing = join(work, 'no-such.ova');
    const r = await runCli(['import', missing, '--pool', pool.name, '--virt-type', 'qemu']);
    assertCleanError(r, 2, new RegExp(`cannot open ${missing}: it does not exist; give the path of an OVA, an .ovf descriptor or a directory holding one`));
    const i = await runCli(['inspect', missing]);
    assertCleanError(i, 2, new RegExp(`cannot open ${missing}: it does not exist`));
  });

  test('a --ca file that is missing or a directory is exit 2 naming it, even for an unsigned package', async () => {
    const missing = join(work, 'no-such-ca.pem');
    const r = await runCli(['import', app.ova!, '--pool', pool.name, '--dry-run', '--ca', missing]);
    assertCleanError(r, 2, new RegExp(`cannot open ${missing}: it does not exist; check the path, or choose another CA file \\(--ca\\)`));
    const d = await runCli(['import', app.ova!, '--pool', pool.name, '--dry-run', '--ca', work]);
    assertCleanError(d, 2, new RegExp(`cannot open ${work}: it is a directory; choose another CA file with --ca`));
  });

  test('a bare .vmdk names the way forward', async () => {
    const r = await runCli(['import', app.vmdk, '--pool', pool.name, '--virt-type', 'qemu']);
    assertCleanError(r, 3, /neither an OVA \(tar archive\) nor an \.ovf descriptor \(app-disk1\.vmdk\); give the OVA or the \.ovf that references it, or import a lone disk image with virt-install --import --disk /);
  });

  test('a gzip disk into a pool whose directory is read-only is exit 4 naming the directory; nothing is created', async (t) => {
    const fs = await readOnlyTmpfs(work, 'ro-pool', async (path) => writeFile(join(path, 'existing.img'), 'pre-existing volume bytes'));
    if (!fs) return t.skip('a read-only tmpfs needs root');
    mounts.push(fs);
    const poolName = uniqueName('errors-ro-pool');
    const conn = Connection.open(TEST_URI);
    try {
      (await createPool(conn, `<pool type='dir'><name>${poolName}</name><target><path>${fs.path}</path></target></pool>`)).free();
      const before0 = await snapshot(fs.path);
      const name = uniqueName('ro-pool');
      const r = await runCli(['import', gzipOva, '--pool', poolName, '--name', name, '--virt-type', 'qemu']);
      assertCleanError(r, 4, new RegExp(`storage pool "${poolName}": its directory ${fs.path} is on a read-only filesystem; remount it read-write, or choose another pool \\(--pool\\)`));
      assert.deepEqual(await snapshot(fs.path), before0);
      assert.equal(domainExists(name), false);
    } finally {
      const p = lookupPool(conn, poolName);
      if (p?.isActive()) await p.destroy();
      p?.free();
      conn.close();
    }
  });

  test('a read-only, missing or non-directory --output-dir is exit 2 naming it, before anything is created', async (t) => {
    const missing = join(work, 'no-such-out');
    const r = await runCli(['import', app.ova!, '--output-dir', missing, '--virt-type', 'qemu', '--name', uniqueName('out')]);
    assertCleanError(r, 2, new RegExp(`output directory ${missing} does not exist; choose another output directory with --output-dir`));
    const r2 = await runCli(['import', app.ova!, '--output-dir', app.ovf, '--virt-type', 'qemu', '--name', uniqueName('out')]);
    assertCleanError(r2, 2, new RegExp(`output directory ${app.ovf} is not a directory`));
    const fs = await readOnlyTmpfs(work, 'ro-out', async (path) => writeFile(join(path, 'keep.txt'), 'kept'));
    if (!fs) return t.skip('a read-only tmpfs needs root');
    mounts.push(fs);
    const before0 = await snapshot(fs.path);
    const name = uniqueName('ro-out');
    const r3 = await runCli(['import', app.ova!, '--output-dir', fs.path, '--virt-type', 'qemu', '--name', name]);
    assertCleanError(r3, 2, new RegExp(`output directory ${fs.path} is on a read-only filesystem; choose another output directory with --output-dir`));
    assert.deepEqual(await snapshot(fs.path), before0);
    assert.equal(domainExists(name), false);
  });

  test('a --tmpdir that is a file is exit 2 naming it; the pool is untouched', async () => {
    const before0 = await poolVolumes(pool);
    const r = await runCli(['import', gzipOva, '--pool', pool.name, '--name', uniqueName('tmpfile'), '--virt-type', 'qemu', '--tmpdir', app.ovf]);
    assertCleanError(r, 2, new RegExp(`temporary directory ${app.ovf} is not a directory; choose another temporary directory with --tmpdir`));
    assert.deepEqual(await poolVolumes(pool), before0);
  });

  test('the temporary directory of a gzip disk being read-only is exit 2 before anything is created', async (t) => {
    const fs = await readOnlyTmpfs(work, 'ro-tmp');
    if (!fs) return t.skip('a read-only tmpfs needs root');
    mounts.push(fs);
    const before0 = await poolVolumes(pool);
    const r = await runCli(['import', gzipOva, '--pool', pool.name, '--name', uniqueName('rotmp'), '--virt-type', 'qemu'], { env: { TMPDIR: fs.path } });
    assertCleanError(r, 2, new RegExp(`the system temporary directory ${fs.path} \\(\\$TMPDIR\\) is on a read-only filesystem; choose another temporary directory with --tmpdir`));
    assert.deepEqual(await poolVolumes(pool), before0);
  });
});
