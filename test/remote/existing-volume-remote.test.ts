// --volume on a remote host (the namespace libvirtd over qemu+tcp): the blank check reads the
// volume's ends through ranged downloads, the disk goes through a plain (not sparse) upload whose
// zero ranges are sent as zeros over old data, and a rollback zeroes the ends through uploads.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { withWrongDiskDigest } from '../pools/wrong-digest.js';
import { buildAppliance, type ApplianceResult } from '../../scripts/appliance.js';
import { CLI } from '../commands/helpers.js';
import { startRemoteHost, type RemoteHost } from '../harness/remote-libvirtd.js';

const MiB = 2 ** 20;

describe('--volume on a remote host (libvirt streams)', () => {
  let host: RemoteHost | string;
  let work: string;
  let state: string;
  let app: ApplianceResult;

  before(async () => {
    host = await startRemoteHost({ ssh: false });
    work = await mkdtemp(join(tmpdir(), 'virt-ovf-remote-existing-'));
    state = join(work, 'state');
    await mkdir(state);
    app = await buildAppliance({ dir: join(work, 'app'), content: 'mixed', diskSizeBytes: 8 * MiB });
  });
  after(async () => {
    if (typeof host !== 'string' && host) await host.stop();
    await rm(work, { recursive: true, force: true });
  });

  async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const h = host as RemoteHost;
    const r = await execa('node', [CLI, ...args], { reject: false, env: { VIRT_OVF_STATE_DIR: state, LIBVIRT_DEFAULT_URI: h.tcpUri }, stdin: 'ignore', timeout: 300_000 });
    return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
  }
  const importArgs = (name: string, pkg: string, ...more: string[]) => ['import', pkg, '--pool', (host as RemoteHost).pools.images.name, '--name', name, '--virt-type', 'qemu', '--user-net', ...more];

  /** A remote raw volume of 64 MiB filled from a local file of that size: old bytes at 1-8 MiB (where the disk has data and holes), and `end` (1 KiB of them in the last MiB) when asked. */
  async function remoteVolume(h: RemoteHost, name: string, end = false): Promise<void> {
    const local = join(work, `${name}.fill`);
    const fill = Buffer.alloc(64 * MiB);
    for (let i = MiB; i < 8 * MiB; i++) fill[i] = (i * 131 + 7) & 0xff || 1;
    if (end) fill.fill(0x5a, 64 * MiB - 4096, 64 * MiB - 3072);
    await writeFile(local, fill);
    for (const args of [['vol-create-as', h.pools.images.name, name, '64M', '--format', 'raw'], ['vol-upload', '--pool', h.pools.images.name, name, local]]) {
      const r = await h.virsh(...args);
      assert.equal(r.code, 0, r.stderr);
    }
  }

  /** The remote volume's bytes, downloaded here. */
  async function download(h: RemoteHost, name: string): Promise<Buffer> {
    const out = join(work, `${name}.down`);
    const r = await h.virsh('vol-download', '--pool', h.pools.images.name, name, out);
    assert.equal(r.code, 0, r.stderr);
    return readFile(out);
  }

  test('writes the disk into the remote volume through a stream, zeros over old data, and keeps its size', async (t) => {
    if (typeof host === 'string') return t.skip(host);
    await remoteVolume(host, 'lun-a.img');
    const r = await cli(importArgs('existing-remote', app.ova!, '--volume', 'sda=lun-a.img'));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /disk lun-a\.img \(existing volume, written raw\): libvirt stream/);
    const bytes = await download(host, 'lun-a.img');
    assert.equal(bytes.length, 64 * MiB);
    const disk = await readFile(app.rawDisk);
    assert.ok(bytes.subarray(0, disk.length).equals(disk), 'the volume starts with the disk: the old bytes at 1-8 MiB were overwritten, holes with zeros');
    assert.match((await host.virsh('dumpxml', 'existing-remote')).stdout, /<source pool='remote-images' volume='lun-a\.img'/);
    assert.deepEqual(await readdir(state), []);
  });

  test('refuses a remote volume with data in its last MiB (read through a ranged download), then a failed import zeroes its ends again', async (t) => {
    if (typeof host === 'string') return t.skip(host);
    await remoteVolume(host, 'lun-b.img', true);
    const refused = await cli(importArgs('existing-remote-b', app.ova!, '--volume', 'sda=lun-b.img'));
    assert.equal(refused.code, 4, refused.stderr);
    assert.match(refused.stderr, /holds data \(a byte that is not zero at offset 67104768\)/);
    await host.virsh('vol-wipe', '--pool', host.pools.images.name, 'lun-b.img');
    // A wrong manifest digest: the disk is uploaded, then the import fails and rolls back.
    const ova = await withWrongDiskDigest(app.ova!, work);
    const failed = await cli(importArgs('existing-remote-c', ova, '--volume', 'sda=lun-b.img'));
    assert.equal(failed.code, 3, failed.stderr);
    assert.match(failed.stderr, /Rolled back: first and last MiB of volume lun-b\.img \(zeroed again\)/);
    const bytes = await download(host, 'lun-b.img');
    assert.equal(bytes.length, 64 * MiB, 'the volume is still there');
    assert.ok(bytes.subarray(0, MiB).every((b) => b === 0) && bytes.subarray(63 * MiB).every((b) => b === 0), 'its ends are blank again');
    assert.ok(bytes.subarray(MiB, 8 * MiB).some((b) => b !== 0), 'the disk was written before the failure (the test would prove nothing otherwise)');
    assert.deepEqual(await readdir(state), [], 'no journal is left');
  });
});
