// inspect --pool against a remote host (the namespace libvirtd over qemu+tcp): each disk goes
// through a libvirt stream, and inspect says why in import --dry-run's words; nothing is created there.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildAppliance, type ApplianceResult } from '../../scripts/appliance.js';
import { startRemoteHost, type RemoteHost } from '../harness/remote-libvirtd.js';
import { runCli } from './helpers.js';

describe('inspect --pool on a remote host over qemu+tcp', () => {
  let host: RemoteHost | string;
  let work: string;
  let state: string;
  let app: ApplianceResult;

  before(async () => {
    host = await startRemoteHost({ ssh: false });
    work = await mkdtemp(join(tmpdir(), 'virt-ovf-inspect-remote-'));
    state = join(work, 'state');
    await mkdir(state);
    app = await buildAppliance({ dir: join(work, 'app'), name: 'appliance', manifest: 'sha256' });
  });
  after(async () => {
    if (typeof host !== 'string') await host?.stop();
    await rm(work, { recursive: true, force: true });
  });

  const inspect = (h: RemoteHost, ...args: string[]) => runCli(['inspect', app.ova!, '-c', h.tcpUri, ...args], { env: { VIRT_OVF_STATE_DIR: state } });

  /** Nothing on the remote host (no volume in its pools, no domain) and no journal here. */
  async function nothingCreated(h: RemoteHost): Promise<void> {
    for (const pool of [h.pools.images, h.pools.shadow]) {
      const r = await h.virsh('vol-list', pool.name);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.stdout.split('\n').slice(2).filter((l) => l.trim() !== ''), [], `pool ${pool.name} stays empty`);
    }
    assert.equal((await h.virsh('dominfo', 'appliance')).code, 1, 'no domain');
    assert.deepEqual(await readdir(state), [], 'no run journal was written');
  }

  test('says "libvirt stream" because the connection is remote, as import --dry-run does', async (t) => {
    if (typeof host === 'string') return t.skip(host);
    const h = host;
    const pool = h.pools.images;
    assert.equal(existsSync(pool.path), false, `the remote pool's directory ${pool.path} must not exist on this machine`);
    const r = await inspect(h, '--pool', pool.name);
    assert.equal(r.code, 0, r.stderr);
    const uri = h.tcpUri.replace(/[.+]/g, '\\$&');
    assert.match(r.stdout, new RegExp(`^Target: +pool "${pool.name}" \\(type dir\\) on ${uri}$`, 'm'));
    assert.match(r.stdout, new RegExp(`^  sda +disk appliance-vmdisk1\\.qcow2 \\(qcow2\\): libvirt stream \\(${uri} is a remote connection\\)$`, 'm'));
    assert.match(r.stdout, /^Free space: +64\.0 KiB of volume data, [\d.]+ [KMGT]i?B free: enough$/m);
    const dry = await runCli(['import', app.ova!, '-c', h.tcpUri, '--pool', pool.name, '--user-net', '--dry-run'], { env: { VIRT_OVF_STATE_DIR: state } });
    assert.equal(dry.code, 0, dry.stderr);
    const said = /disk (\S+): (libvirt stream \(.*\))$/m.exec(dry.stderr);
    assert.ok(said, dry.stderr);
    assert.ok(r.stdout.includes(`disk ${said[1]} (qcow2): ${said[2]}`), `inspect says what import --dry-run says: ${said[0]}\n${r.stdout}`);
    await nothingCreated(h);
  });

  test('--json: the stream for every disk, the remote pool\'s free space, even where its path also exists here', async (t) => {
    if (typeof host === 'string') return t.skip(host);
    const h = host;
    const shadow = h.pools.shadow;
    assert.ok(existsSync(shadow.path), 'the shadow path exists here');
    const r = await inspect(h, '--pool', shadow.name, '--format', 'raw', '--json');
    assert.equal(r.code, 0, r.stderr);
    const target = (JSON.parse(r.stdout) as { target: { uri: string; pool: unknown; volumes: Record<string, unknown>[]; space: { neededBytes: number; availableBytes: number; sufficient: boolean } } }).target;
    assert.equal(target.uri, h.tcpUri);
    assert.deepEqual(target.pool, { name: shadow.name, type: 'dir' });
    assert.deepEqual(target.volumes, [{ dev: 'sda', device: 'disk', name: 'appliance-vmdisk1.img', format: 'raw', dataPath: 'stream', via: 'libvirt stream', reason: `${h.tcpUri} is a remote connection`, exists: false }]);
    assert.equal(target.space.neededBytes, 65536);
    assert.ok(target.space.availableBytes > 0 && target.space.sufficient, JSON.stringify(target.space));
    assert.deepEqual(await readdir(shadow.path), [], 'the directory here was not written');
    await nothingCreated(h);
  });

  test('--transfer local is refused as import refuses it (exit 4, the same message)', async (t) => {
    if (typeof host === 'string') return t.skip(host);
    const h = host;
    const r = await inspect(h, '--pool', h.pools.images.name, '--transfer', 'local');
    const dry = await runCli(['import', app.ova!, '-c', h.tcpUri, '--pool', h.pools.images.name, '--transfer', 'local', '--user-net', '--dry-run'], { env: { VIRT_OVF_STATE_DIR: state } });
    assert.equal(r.code, 4, r.stderr);
    const error = (s: string) => s.split('\n').find((l) => l.startsWith('virt-ovf: error:'));
    assert.match(error(r.stderr) ?? '', /cannot write pool "remote-images" of qemu\+tcp:\/\/127\.0\.0\.1:\d+\/system from this machine: the pool's path \/var\/lib\/libvirt\/remote-images does not exist on this machine; choose transfer stream \(or auto\) with --transfer/);
    assert.equal(error(r.stderr), error(dry.stderr));
    await nothingCreated(h);
  });
});
