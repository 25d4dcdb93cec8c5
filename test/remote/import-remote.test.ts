// The boot OVA imported into a remote host (the namespace libvirtd) over qemu+tcp and qemu+ssh:
// the disk goes through a libvirt stream into a pool whose directory does not exist here, the
// domain boots there and prints its marker; local writes into a remote pool are refused.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildAppliance, type ApplianceResult } from '../../scripts/appliance.js';
import { runCli, waitForText } from '../commands/helpers.js';
import { startRemoteHost, type RemoteHost } from '../harness/remote-libvirtd.js';

describe('import into a remote host through libvirt streams', () => {
  let host: RemoteHost | string;
  let work: string;
  let app: ApplianceResult;
  const marker = `MARKER-REMOTE-${Date.now()}`;

  before(async () => {
    host = await startRemoteHost({ ssh: true });
    work = await mkdtemp(join(tmpdir(), 'virt-ovf-remote-test-'));
    app = await buildAppliance({ dir: join(work, 'app'), name: 'appliance', marker, controller: 'sata', manifest: 'sha256' });
  });
  after(async () => {
    if (typeof host !== 'string') await host?.stop();
    await rm(work, { recursive: true, force: true });
  });

  const importArgs = (uri: string, name: string, pool: string, extra: string[] = []) =>
    ['import', app.ova!, '-c', uri, '--pool', pool, '--name', name, '--virt-type', 'qemu', '--user-net', ...extra];

  /** Volume names of a remote pool (the first column of virsh vol-list). */
  async function volumes(h: RemoteHost, pool: string): Promise<string[]> {
    const r = await h.virsh('vol-list', pool);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.split('\n').slice(2).map((l) => l.trim().split(/\s+/)[0] ?? '').filter((l) => l !== '').sort();
  }

  /** Removes a domain and its volume from the remote host (what a passing test made); never throws. */
  async function removeRemote(h: RemoteHost, domain: string, pool: string, volume: string): Promise<void> {
    await h.virsh('destroy', domain);
    await h.virsh('undefine', domain);
    await h.virsh('vol-delete', '--pool', pool, volume);
  }

  for (const transport of ['tcp', 'ssh'] as const) {
    for (const profile of ['faithful', 'virtio'] as const) {
      test(`over qemu+${transport}, profile ${profile}: the raw volume is streamed, the domain boots there and prints the marker`, async (t) => {
        if (typeof host === 'string') return t.skip(host);
        const uri = transport === 'tcp' ? host.tcpUri : host.sshUri!;
        const name = `remote-${transport}-${profile}`;
        const serialLog = join(work, `${name}.serial.log`);
        const pool = host.pools.images;
        assert.equal(existsSync(pool.path), false, `the remote pool's directory ${pool.path} must not exist on this machine`);
        t.after(() => removeRemote(host as RemoteHost, name, pool.name, `${name}-vmdisk1.img`));
        const r = await runCli([...importArgs(uri, name, pool.name, ['--profile', profile, '--format', 'raw', '--start', '--serial-log', serialLog])]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, new RegExp(`${name}-vmdisk1\\.img: libvirt stream \\(qemu\\+${transport}://[^ ]+ is a remote connection\\)`));
        assert.match(r.stderr, /Manifest appliance\.mf: 2 file\(s\) verified/);
        assert.match(r.stdout, new RegExp(`Domain ${name} \\([0-9a-f-]{36}\\) defined and started`));
        const seen = await waitForText(serialLog, marker, 60_000);
        assert.ok(seen.found, `marker not on the serial console after ${seen.elapsedMs} ms; got: ${JSON.stringify(seen.content)}`);
        assert.ok((await volumes(host, pool.name)).includes(`${name}-vmdisk1.img`));
        const xml = (await host.virsh('dumpxml', name)).stdout;
        assert.match(xml, new RegExp(`<source pool='${pool.name}' volume='${name}-vmdisk1\\.img'`));
        if (profile === 'virtio') assert.ok(xml.includes("bus='virtio'"), xml);
        assert.equal(existsSync(pool.path), false, 'nothing was written at the pool path on this machine');
      });
    }
  }

  test('a qcow2 volume on the remote dir pool: streamed through the qcow2 encoder when this build has one', async (t) => {
    if (typeof host === 'string') return t.skip(host);
    const upload = await import('../../src/transfer/upload.js');
    const h = host;
    t.after(() => removeRemote(h, 'remote-qcow2', h.pools.images.name, 'remote-qcow2-vmdisk1.qcow2'));
    const r = await runCli(importArgs(host.tcpUri, 'remote-qcow2', host.pools.images.name, ['--format', 'qcow2', '--start', '--serial-log', join(work, 'qcow2.serial.log')]));
    if (/no qcow2 stream encoder/.test(r.stderr)) {
      assert.equal(r.code, 4, r.stderr);
      assert.match(r.stderr, /choose volume format raw with --format/);
      assert.deepEqual(await volumes(host, host.pools.images.name), [], 'the refused import left no volume');
      return t.skip(`no qcow2 stream encoder in this build (${Object.keys(upload).join(', ')}): the refusal was checked instead`);
    }
    assert.equal(r.code, 0, r.stderr);
    const seen = await waitForText(join(work, 'qcow2.serial.log'), marker, 60_000);
    assert.ok(seen.found, JSON.stringify(seen.content));
  });

  test('--transfer local against the remote host is refused before anything is created, naming the path and --transfer', async (t) => {
    if (typeof host === 'string') return t.skip(host);
    const r = await runCli(importArgs(host.tcpUri, 'remote-local', host.pools.images.name, ['--format', 'raw', '--transfer', 'local']));
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /cannot write pool "remote-images" of qemu\+tcp:\/\/127\.0\.0\.1:\d+\/system from this machine: the pool's path \/var\/lib\/libvirt\/remote-images does not exist on this machine; choose transfer stream \(or auto\) with --transfer/);
    assert.deepEqual(await volumes(host, host.pools.images.name), []);
    assert.equal((await host.virsh('dominfo', 'remote-local')).code, 1, 'no domain');
  });

  test('a remote pool whose path also exists here (another directory) is streamed with auto and refused with --transfer local', async (t) => {
    if (typeof host === 'string') return t.skip(host);
    const shadow = host.pools.shadow;
    assert.ok(existsSync(shadow.path), 'the shadow path exists here');
    const refused = await runCli(importArgs(host.tcpUri, 'remote-shadow', shadow.name, ['--format', 'raw', '--transfer', 'local']));
    assert.equal(refused.code, 4, refused.stderr);
    assert.match(refused.stderr, new RegExp(`${shadow.path} on this machine is not the pool's storage \\(`));
    t.after(() => removeRemote(host as RemoteHost, 'remote-shadow', shadow.name, 'remote-shadow-vmdisk1.img'));
    const r = await runCli(importArgs(host.tcpUri, 'remote-shadow', shadow.name, ['--format', 'raw']));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /remote-shadow-vmdisk1\.img: libvirt stream/);
    assert.deepEqual(await readdir(shadow.path), [], 'the directory here was not written');
    assert.deepEqual(await volumes(host, shadow.name), ['remote-shadow-vmdisk1.img']);
    const inside = await host.inside('ls', [shadow.path]);
    assert.equal(inside.stdout.trim(), 'remote-shadow-vmdisk1.img', 'the volume is in the remote host\'s directory');
  });

  test('--dry-run says each disk goes through a libvirt stream and why, and creates nothing', async (t) => {
    if (typeof host === 'string') return t.skip(host);
    const r = await runCli(importArgs(host.sshUri!, 'remote-dry', host.pools.images.name, ['--format', 'raw', '--dry-run']));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /disk remote-dry-vmdisk1\.img: libvirt stream \(qemu\+ssh:\/\/root@127\.0\.0\.1:\d+\/system\?[^ ]* is a remote connection\)/);
    assert.match(r.stderr, /Dry run: nothing was created/);
    assert.deepEqual(await volumes(host, host.pools.images.name), []);
  });
});
