// Export from a remote host (the namespace libvirtd over qemu+tcp, whose pool directory does not
// exist here): disks read through libvirt streams, the package written here, re-imported here.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildAppliance, type ApplianceResult } from '../../scripts/appliance.js';
import { Connection } from '../../src/libvirt/index.js';
import { CLI, closeScratch, openScratch, runCli, waitForText } from '../commands/helpers.js';
import { assertCleanupFindsNothing } from '../faults/cleanup-check.js';
import { hostLibvirtEntries, startRemoteHost, type RemoteHost } from '../harness/remote-libvirtd.js';
import { uniqueName, type ScratchPool } from '../libvirt/harness.js';
import { defineRemoteDomain, uploadQcow2 } from './export-fixture.js';

/** qemu-img compare of guest bytes (-U: the image of a running domain is read without its lock); resolves with its exit code and output. */
async function compare(rawGuest: string, image: string, format: string): Promise<{ code: number; out: string }> {
  const r = await execa('qemu-img', ['compare', '-U', '-f', 'raw', '-F', format, rawGuest, image], { reject: false });
  return { code: r.exitCode ?? -1, out: `${String(r.stdout)}${String(r.stderr)}` };
}

describe('export from a remote host through libvirt streams', () => {
  let host: RemoteHost | string;
  let conn: Connection | undefined;
  let pool: ScratchPool;
  let work: string;
  let app: ApplianceResult;
  let hostEntries: string[];
  const domains: string[] = [];

  before(async () => {
    hostEntries = await hostLibvirtEntries();
    host = await startRemoteHost({ ssh: true });
    if (typeof host === 'string') return;
    ({ pool, work } = await openScratch('export-remote', { network: true }));
    app = await buildAppliance({ dir: join(work, 'app'), name: 'rxapp', marker: 'REMOTE-EXPORT-OK' });
    conn = Connection.open(host.tcpUri);
  });
  after(async () => {
    conn?.close();
    if (typeof host !== 'string') await host?.stop();
    await closeScratch(pool, work, domains);
  });

  test('a qcow2 volume written by the sequential encoder exports to an OVA that re-imports here, boots, and holds the same disk', async (t) => {
    if (typeof host === 'string') return t.skip(host);
    const images = host.pools.images;
    assert.ok(!existsSync(images.path), 'the remote pool directory does not exist on this machine');
    const sent = await uploadQcow2(conn!, images.name, 'rx-disk.qcow2', app.rawDisk);
    assert.ok(sent.bytesUploaded <= sent.fileBytes + 112);
    await defineRemoteDomain(host, 'rx', images.name, 'rx-disk.qcow2', 'qcow2');
    const ova = join(work, 'rx.ova');
    const out = await runCli(['export', 'rx', '-c', host.tcpUri, '-o', ova]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stderr, /Reading disk sda .* through libvirt streams \(qcow2, ranged downloads\)/);
    const second = uniqueName('rx-back');
    domains.push(second);
    const serial = join(work, `${second}.log`);
    const back = await runCli(['import', ova, '--pool', pool.name, '--name', second, '--virt-type', 'qemu', '--start', '--serial-log', serial]);
    assert.equal(back.code, 0, back.stderr);
    assert.ok((await waitForText(serial, app.marker, 30_000)).found, 'the re-imported domain boots');
    const vol = (await readdir(pool.path)).find((f) => f.startsWith(second));
    assert.ok(vol);
    assert.equal((await compare(app.rawDisk, join(pool.path, vol), 'qcow2')).code, 0);
  });

  test('the boot OVA imported into the remote qcow2 pool (the sequential encoder), exported back over qemu+tcp and qemu+ssh, re-imports here with identical disks', async (t) => {
    if (typeof host === 'string') return t.skip(host);
    const imported = await runCli(['import', app.ova!, '-c', host.tcpUri, '--pool', host.pools.images.name, '--name', 'rt', '--virt-type', 'qemu', '--format', 'qcow2', '--user-net']);
    assert.equal(imported.code, 0, imported.stderr);
    const check = await host.inside('qemu-img', ['check', '-f', 'qcow2', `${host.pools.images.path}/rt-vmdisk1.qcow2`]);
    assert.equal(check.code, 0, `qemu-img check on the remote host: ${check.stdout}${check.stderr}`);
    for (const uri of [host.tcpUri, ...(host.sshUri ? [host.sshUri] : [])]) {
      const via = uri.startsWith('qemu+ssh') ? 'ssh' : 'tcp';
      const ova = join(work, `rt-${via}.ova`);
      const out = await runCli(['export', 'rt', '-c', uri, '-o', ova]);
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stderr, /through libvirt streams \(qcow2, ranged downloads\)/);
      const back = uniqueName(`rt-${via}`);
      domains.push(back);
      assert.equal((await runCli(['import', ova, '--pool', pool.name, '--name', back, '--virt-type', 'qemu'])).code, 0);
      const vol = (await readdir(pool.path)).find((f) => f.startsWith(back));
      assert.ok(vol);
      assert.equal((await compare(app.rawDisk, join(pool.path, vol), 'qcow2')).code, 0, `re-imported over qemu+${via}`);
    }
    if (!host.sshUri) t.diagnostic('qemu+ssh not available here: exported over qemu+tcp only');
  });

  test('qcow2 and raw package disks, and a raw volume through the sparse download, hold the guest bytes', async (t) => {
    if (typeof host === 'string') return t.skip(host);
    const images = host.pools.images;
    const up = await host.virsh('vol-create-as', images.name, 'rxr.img', String((await import('node:fs')).statSync(app.rawDisk).size), '--format', 'raw');
    assert.equal(up.code, 0, up.stderr);
    assert.equal((await host.virsh('vol-upload', '--pool', images.name, 'rxr.img', app.rawDisk, '--sparse')).code, 0);
    await defineRemoteDomain(host, 'rxr', images.name, 'rxr.img', 'raw');
    for (const [domain, format, ext, shape] of [['rx', 'qcow2', 'qcow2', 'ranged downloads'], ['rxr', 'raw', 'img', 'sparse download'], ['rxr', 'vmdk', 'vmdk', 'sparse download']] as const) {
      const dir = join(work, `${domain}-${format}`);
      await mkdir(dir);
      const out = await runCli(['export', domain, '-c', host.tcpUri, '--disk-format', format, '-o', `${dir}/`]);
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stderr, new RegExp(`through libvirt streams \\((qcow2|raw), ${shape}\\)`));
      const r = await compare(app.rawDisk, join(dir, `${domain}-disk1.${ext}`), format);
      assert.equal(r.code, 0, `${domain} as ${format}: ${r.out}`);
    }
  });

  test('a qcow2 volume with a backing file is refused naming the disk, and left out with --lax', async (t) => {
    if (typeof host === 'string') return t.skip(host);
    const images = host.pools.images;
    const made = await host.virsh('vol-create-as', images.name, 'rxb.qcow2', '1M', '--format', 'qcow2', '--backing-vol', 'rx-disk.qcow2', '--backing-vol-format', 'qcow2');
    assert.equal(made.code, 0, made.stderr);
    await defineRemoteDomain(host, 'rxb', images.name, 'rxb.qcow2', 'qcow2');
    const refused = await runCli(['export', 'rxb', '-c', host.tcpUri, '-o', join(work, 'rxb.ova')]);
    assert.equal(refused.code, 4, refused.stderr);
    assert.match(refused.stderr, /disk sda \(remote-images\/rxb\.qcow2\): it has a backing file/);
    assert.ok(!existsSync(join(work, 'rxb.ova')));
    const lax = await runCli(['export', 'rxb', '-c', host.tcpUri, '--lax', '-o', join(work, 'rxb.ova')]);
    assert.equal(lax.code, 0, lax.stderr);
    assert.match(lax.stderr, /left out of the OVF/);
  });

  test('SIGINT while a disk streams from the remote host ends the export with nothing left here or for virt-ovf cleanup', async (t) => {
    if (typeof host === 'string') return t.skip(host);
    const raw = join(work, 'noise.raw');
    await execa('dd', ['if=/dev/urandom', `of=${raw}`, 'bs=1M', 'count=256', 'status=none']);
    await uploadQcow2(conn!, host.pools.images.name, 'rxi.qcow2', raw);
    await defineRemoteDomain(host, 'rxi', host.pools.images.name, 'rxi.qcow2', 'qcow2');
    const out = join(work, 'int');
    await mkdir(out);
    const child = execa('node', [CLI, 'export', 'rxi', '-c', host.tcpUri, '-o', join(out, 'rxi.ova')], { reject: false, stdin: 'ignore' });
    let stderr = '';
    let sent = false;
    child.stderr!.on('data', (b: Buffer) => {
      stderr += b.toString();
      if (!sent && /Writing disk 1\/1/.test(stderr)) sent = child.kill('SIGINT'); // once: a second Ctrl-C is a forced exit
    });
    const r = await child;
    assert.equal(r.exitCode, 130, stderr);
    assert.deepEqual(await readdir(out), [], 'no OVA, .part or work directory is left');
    await assertCleanupFindsNothing();
  });

  test('a running domain on the remote host is refused with what to do', async (t) => {
    if (typeof host === 'string') return t.skip(host);
    const started = await host.virsh('start', 'rx');
    assert.equal(started.code, 0, started.stderr);
    try {
      const out = await runCli(['export', 'rx', '-c', host.tcpUri, '-o', join(work, 'running.ova')]);
      assert.equal(out.code, 4, out.stderr);
      assert.match(out.stderr, /domain "rx" is running on qemu\+tcp:.*shut it down/);
      assert.ok(!existsSync(join(work, 'running.ova')));
    } finally {
      await host.virsh('destroy', 'rx');
    }
    assert.deepEqual(await hostLibvirtEntries(), hostEntries, 'nothing of the remote host appeared in this host\'s /var/lib/libvirt');
  });
});
