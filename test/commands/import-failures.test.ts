// All or nothing on a real libvirtd: every refused or failed import leaves no volume, file or domain behind.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { buildAppliance, fileDigest, type ApplianceResult } from '../../scripts/appliance.js';
import { Connection, defineDomain } from '../../src/libvirt/index.js';
import { tinyDomainXml, uniqueName, TEST_URI, type ScratchPool } from '../libvirt/harness.js';
import { mountTmpfs } from '../storage/tmpfs.js';
import { closeScratch, domainExists, openScratch, poolVolumes, runCli } from './helpers.js';

/** Packs `files` (in order) from `dir` into a ustar OVA. */
async function pack(dir: string, ova: string, files: string[]): Promise<string> {
  await execa('tar', ['--format=ustar', '-cf', ova, '-C', dir, ...files]);
  return ova;
}

describe('failed imports leave nothing behind', () => {
  let pool: ScratchPool;
  let work: string;
  let app: ApplianceResult;
  let before0: string[];
  const domains: string[] = [];

  before(async () => {
    ({ pool, work } = await openScratch('fail'));
    app = await buildAppliance({ dir: join(work, 'base'), name: 'app', ova: false, manifest: 'sha256' });
    before0 = await poolVolumes(pool);
  });
  after(async () => {
    await closeScratch(pool, work, domains);
  });

  /** Asserts the pool holds exactly what it held before and the domain does not exist. */
  async function assertNothingLeft(name: string): Promise<void> {
    assert.deepEqual(await poolVolumes(pool), before0, 'volumes left in the pool');
    assert.equal(domainExists(name), false, `domain ${name} left defined`);
  }

  /** A copy of the base appliance in its own directory, for editing. */
  async function variant(label: string): Promise<string> {
    const dir = join(work, label);
    await mkdir(dir, { recursive: true });
    for (const f of [app.ovf, app.vmdk, app.mf!]) await copyFile(f, join(dir, f.slice(f.lastIndexOf('/') + 1)));
    return dir;
  }

  test('a manifest digest mismatch fails with exit 3 naming the file and both digests', async () => {
    const dir = await variant('mismatch');
    const good = await fileDigest(app.vmdk, 'sha256');
    const bad = good.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    const mf = (await readFile(join(dir, 'app.mf'), 'utf8')).replace(good, bad);
    await writeFile(join(dir, 'app.mf'), mf);
    const ova = await pack(dir, join(work, 'mismatch.ova'), ['app.ovf', 'app.mf', 'app-disk1.vmdk']);
    const name = uniqueName('mismatch');
    const r = await runCli(['import', ova, '--pool', pool.name, '--name', name, '--virt-type', 'qemu']);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /app-disk1\.vmdk: SHA256 digest mismatch/);
    assert.ok(r.stderr.includes(bad) && r.stderr.includes(good), r.stderr);
    await assertNothingLeft(name);
  });

  test('a qcow2 file declared as VMDK is refused before qemu-img opens it (exit 3)', async () => {
    const dir = await variant('confused');
    await rm(join(dir, 'app-disk1.vmdk'));
    await execa('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', app.rawDisk, join(dir, 'app-disk1.vmdk')]);
    const ova = await pack(dir, join(work, 'confused.ova'), ['app.ovf', 'app-disk1.vmdk']);
    const name = uniqueName('confused');
    const r = await runCli(['import', ova, '--pool', pool.name, '--name', name, '--virt-type', 'qemu']);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /declared vmdk \(ovf:format\) but the file is qcow2/);
    await assertNothingLeft(name);
  });

  test('a failure on disk 2 of 2 removes the volume already made for disk 1', async () => {
    const dir = await variant('twodisks');
    const ovf = (await readFile(join(dir, 'app.ovf'), 'utf8'))
      .replace('</References>', '<File ovf:href="bad.vmdk" ovf:id="file2" ovf:size="4096"/></References>')
      .replace('</DiskSection>', '<Disk ovf:capacity="1048576" ovf:diskId="vmdisk2" ovf:fileRef="file2" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/></DiskSection>')
      .replace(
        /(ovf:\/disk\/vmdisk1<\/rasd:HostResource>[\s\S]*?<\/Item>)/,
        '$1<Item><rasd:AddressOnParent>1</rasd:AddressOnParent><rasd:ElementName>Hard disk 2</rasd:ElementName><rasd:HostResource>ovf:/disk/vmdisk2</rasd:HostResource><rasd:InstanceID>9</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>',
      );
    assert.ok(ovf.includes('ovf:/disk/vmdisk2'), 'fixture edit applied');
    await writeFile(join(dir, 'app.ovf'), ovf);
    await writeFile(join(dir, 'bad.vmdk'), Buffer.alloc(4096, 0x41));
    const ova = await pack(dir, join(work, 'twodisks.ova'), ['app.ovf', 'app-disk1.vmdk', 'bad.vmdk']);
    const name = uniqueName('twodisks');
    const r = await runCli(['import', ova, '--pool', pool.name, '--name', name, '--virt-type', 'qemu']);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /Converting disk 1\/2/);
    assert.match(r.stderr, /bad\.vmdk/);
    assert.match(r.stderr, new RegExp(`Rolled back: volume ${name}-vmdisk1\\.qcow2`));
    await assertNothingLeft(name);
  });

  test('an existing domain name is refused with exit 4 and the existing domain is untouched', async () => {
    const name = uniqueName('taken');
    const conn = Connection.open(TEST_URI);
    (await defineDomain(conn, tinyDomainXml(name))).free();
    conn.close();
    domains.push(name);
    const ova = await pack(join(work, 'base'), join(work, 'taken.ova'), ['app.ovf', 'app.mf', 'app-disk1.vmdk']);
    const r = await runCli(['import', ova, '--pool', pool.name, '--name', name, '--virt-type', 'qemu']);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /already exists; choose another name with --name/);
    assert.equal(domainExists(name), true);
    assert.deepEqual(await poolVolumes(pool), before0);
  });

  test('an existing volume of the same name is never overwritten', async () => {
    const name = uniqueName('voltaken');
    const existing = join(pool.path, `${name}-vmdisk1.qcow2`);
    await writeFile(existing, 'precious bytes');
    await execa('virsh', ['-c', TEST_URI, 'pool-refresh', pool.name]);
    const ova = await pack(join(work, 'base'), join(work, 'voltaken.ova'), ['app.ovf', 'app.mf', 'app-disk1.vmdk']);
    const r = await runCli(['import', ova, '--pool', pool.name, '--name', name, '--virt-type', 'qemu']);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /already exists in pool/);
    assert.equal(await readFile(existing, 'utf8'), 'precious bytes');
    assert.equal(domainExists(name), false);
    await rm(existing);
  });

  test('a --tmpdir that does not exist, or is read-only, is exit 2 naming it, before anything is created', async (t) => {
    const dir = await variant('gzip');
    const disk = join(dir, 'app-disk1.vmdk');
    await writeFile(disk, gzipSync(await readFile(disk)));
    await writeFile(join(dir, 'app.ovf'), (await readFile(join(dir, 'app.ovf'), 'utf8')).replace('ovf:id="file1"', 'ovf:id="file1" ovf:compression="gzip"'));
    const ova = await pack(dir, join(work, 'gzip.ova'), ['app.ovf', 'app-disk1.vmdk']);
    const missing = join(work, 'no-such-tmpdir');
    const name = uniqueName('tmpdir');
    const r = await runCli(['import', ova, '--pool', pool.name, '--name', name, '--virt-type', 'qemu', '--no-verify', '--tmpdir', missing]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`temporary directory ${missing} does not exist; choose another temporary directory with --tmpdir`));
    await assertNothingLeft(name);
    const ro = await mountTmpfs(work, 'ro-tmp', 2 ** 20);
    if (!ro) return t.skip('mounting a read-only tmpfs needs root');
    try {
      await execa('mount', ['-o', 'remount,ro', ro.path]);
      const r2 = await runCli(['import', ova, '--pool', pool.name, '--name', name, '--virt-type', 'qemu', '--no-verify', '--tmpdir', ro.path]);
      assert.equal(r2.code, 2, r2.stderr);
      assert.match(r2.stderr, new RegExp(`temporary directory ${ro.path} is on a read-only filesystem; choose another temporary directory with --tmpdir`));
      await assertNothingLeft(name);
    } finally {
      await ro.unmount();
    }
  });

  test('a missing pool is exit 4 with the pools that exist and commands that create one, never autostarted', async () => {
    const ova = await pack(join(work, 'base'), join(work, 'nopool.ova'), ['app.ovf', 'app.mf', 'app-disk1.vmdk']);
    const r = await runCli(['import', ova, '--pool', 'no-such-pool-virt-ovf', '--virt-type', 'qemu']);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /storage pool "no-such-pool-virt-ovf" does not exist on qemu:\/\/\/system \(the pools there are .*create it \(virsh -c qemu:\/\/\/system pool-define-as no-such-pool-virt-ovf dir/);
    assert.ok(r.stderr.includes(`${pool.name} (active, ${pool.path})`), r.stderr);
    assert.doesNotMatch(r.stderr, /autostart/);
  });

  test('a missing libvirt network is exit 4 naming the OVF network and how to map it', async () => {
    const ova = await pack(join(work, 'base'), join(work, 'nonet.ova'), ['app.ovf', 'app.mf', 'app-disk1.vmdk']);
    const name = uniqueName('nonet');
    const r = await runCli(['import', ova, '--pool', pool.name, '--name', name, '--network', 'VM Network=no-such-net', '--virt-type', 'qemu']);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /network "no-such-net" \(for OVF network "VM Network"\) does not exist/);
    await assertNothingLeft(name);
  });

  test('a domain that cannot start is undefined and its volumes removed (exit 4)', async () => {
    const ova = await pack(join(work, 'base'), join(work, 'nostart.ova'), ['app.ovf', 'app.mf', 'app-disk1.vmdk']);
    const name = uniqueName('nostart');
    const r = await runCli(['import', ova, '--pool', pool.name, '--name', name, '--virt-type', 'qemu', '--start', '--serial-log', '/nonexistent-dir-virt-ovf/x.log']);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, new RegExp(`Rolled back: domain ${name}`));
    await assertNothingLeft(name);
  });

  test('SIGTERM during conversion exits 130 and removes the partial volume', async () => {
    const big = await buildAppliance({ dir: join(work, 'big'), name: 'big', content: 'mixed', diskSizeBytes: 768 * 2 ** 20, manifest: 'none' });
    const name = uniqueName('sigterm');
    const { CLI } = await import('./helpers.js');
    const child = execa('node', [CLI, 'import', big.ova!, '--pool', pool.name, '--name', name, '--virt-type', 'qemu', '--json'], { reject: false, env: { LIBVIRT_DEFAULT_URI: TEST_URI } });
    let killed = false;
    child.stdout!.on('data', (chunk: Buffer) => {
      if (!killed && /"task":"convert"/.test(chunk.toString())) {
        killed = true;
        child.kill('SIGTERM');
      }
    });
    const r = await child;
    assert.ok(killed, 'conversion progress was seen before the end');
    assert.equal(r.exitCode, 130, String(r.stdout));
    assert.match(String(r.stdout), /"kind":"error".*interrupted by SIGTERM/);
    await assertNothingLeft(name);
  });
});
