// inspect --pool on the system libvirtd: each disk's volume, its data path and why in import
// --dry-run's words, the free space; nothing created, no journal; without --pool no connection.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildAppliance, type ApplianceResult } from '../../scripts/appliance.js';
import { TEST_URI, uniqueName, type ScratchPool } from '../libvirt/harness.js';
import { closeScratch, domainExists, openScratch, runCli } from './helpers.js';

describe('inspect --pool on a local dir pool', () => {
  let scratch: ScratchPool | undefined;
  let work: string | undefined;
  let app: ApplianceResult;
  let state: string;
  const name = uniqueName('insp');

  before(async () => {
    ({ pool: scratch, work } = await openScratch('inspect-transfer'));
    app = await buildAppliance({ dir: join(work, 'app'), name: 'appliance', manifest: 'sha256' });
    state = join(work, 'state');
    await mkdir(state);
  });
  after(() => closeScratch(scratch, work, []));

  /** `virt-ovf inspect APP ARGS` with the test's empty state directory. */
  const inspect = (...args: string[]) => runCli(['inspect', app.ova!, '--name', name, ...args], { env: { VIRT_OVF_STATE_DIR: state } });

  /** Nothing was made: no volume in the pool, no journal, no domain. */
  async function nothingCreated(): Promise<void> {
    assert.deepEqual(await readdir(scratch!.path), [], 'the pool directory stays empty');
    assert.deepEqual(await readdir(state), [], 'no run journal was written');
    assert.equal(domainExists(name), false, 'no domain was defined');
  }

  test('says "written here" and why, in the words of import --dry-run, and that the free space suffices', async () => {
    const r = await inspect('--pool', scratch!.name);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Target: +pool "${scratch!.name}" \\(type dir\\) on qemu:///system$`, 'm'));
    const line = new RegExp(`^  sda +disk ${name}-vmdisk1\\.qcow2 \\(qcow2\\): written here \\(${scratch!.path} of the local connection is visible here\\)$`, 'm');
    assert.match(r.stdout, line);
    assert.match(r.stdout, /^Free space: +64\.0 KiB of volume data, [\d.]+ [KMGT]i?B free: enough$/m);
    await nothingCreated();
    const dry = await runCli(['import', app.ova!, '--name', name, '--pool', scratch!.name, '--user-net', '--dry-run'], { env: { VIRT_OVF_STATE_DIR: state } });
    assert.equal(dry.code, 0, dry.stderr);
    const said = /disk (\S+): (written here \(.*\))$/m.exec(dry.stderr);
    assert.ok(said, dry.stderr);
    assert.ok(r.stdout.includes(`disk ${said[1]} (qcow2): ${said[2]}`), `inspect says what import --dry-run says: ${said[0]}\n${r.stdout}`);
  });

  test('--transfer stream --format raw --json: the stream, the raw volume and the space figures as data', async () => {
    const r = await inspect('--pool', scratch!.name, '--transfer', 'stream', '--format', 'raw', '--json', '-c', TEST_URI);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { target?: { uri: string; pool: { name: string; type: string }; volumes: Record<string, unknown>[]; space: { neededBytes: number; availableBytes: number; sufficient: boolean; problem?: string } } };
    const t = report.target;
    assert.ok(t, r.stdout);
    assert.equal(t.uri, TEST_URI);
    assert.deepEqual(t.pool, { name: scratch!.name, type: 'dir' });
    assert.deepEqual(t.volumes, [{ dev: 'sda', device: 'disk', name: `${name}-vmdisk1.img`, format: 'raw', dataPath: 'stream', via: 'libvirt stream', reason: 'transfer stream was asked', exists: false }]);
    assert.equal(t.space.neededBytes, 65536, 'the appliance disk holds 64 KiB of data');
    assert.ok(t.space.availableBytes > t.space.neededBytes, JSON.stringify(t.space));
    assert.equal(t.space.sufficient, true);
    assert.equal(t.space.problem, undefined);
    await nothingCreated();
  });

  test('a volume of the target name that exists already is said, as import would refuse it', async (t) => {
    const volume = `${name}-vmdisk1.qcow2`;
    await execa('virsh', ['-c', TEST_URI, 'vol-create-as', scratch!.name, volume, '1M', '--format', 'qcow2']);
    t.after(() => execa('virsh', ['-c', TEST_URI, 'vol-delete', '--pool', scratch!.name, volume], { reject: false }));
    const r = await inspect('--pool', scratch!.name, '--json');
    assert.equal(r.code, 0, r.stderr);
    const volumes = (JSON.parse(r.stdout) as { target: { volumes: { name: string; exists: boolean }[] } }).target.volumes;
    assert.deepEqual(volumes.map((v) => [v.name, v.exists]), [[volume, true]]);
    const text = await inspect('--pool', scratch!.name);
    assert.match(text.stdout, new RegExp(`${volume} \\(qcow2\\): written here \\(.*\\); it exists already, so import refuses it: choose another --name`));
  });

  test('--output-dir on a filesystem too small: written here, and not enough space with import\'s reason', async (t) => {
    const dir = await mkdtemp(join(work!, 'tiny-'));
    const mounted = await execa('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', dir], { reject: false });
    if (mounted.exitCode !== 0) return t.skip(`cannot mount a small tmpfs here: ${String(mounted.stderr).trim()}`);
    t.after(async () => {
      await execa('umount', [dir], { reject: false });
      await rm(dir, { recursive: true, force: true });
    });
    const r = await inspect('--output-dir', dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Target: +directory ${dir} on this machine$`, 'm'));
    assert.match(r.stdout, new RegExp(`^  sda +disk ${name}-vmdisk1\\.qcow2 \\(qcow2\\): written here \\(the output directory ${dir} is on this machine\\)$`, 'm'));
    assert.match(r.stdout, new RegExp(`^Free space: +64\\.0 KiB of volume data, 16\\.0 KiB free: not enough \\(the 1 drive\\(s\\) of ${name} needs 65536 bytes \\(64\\.0 KiB\\) but directory ${dir} has only 16384 bytes \\(16\\.0 KiB\\) free; free some space`, 'm'));
    assert.deepEqual(await readdir(dir), [], 'nothing written in the directory');
  });

  test('without --pool there is no connection: an unreachable URI does not matter and the report has no target', async () => {
    const r = await runCli(['inspect', app.ova!, '--json', '-c', 'qemu+tcp://127.0.0.1:1/system'], { env: { VIRT_OVF_STATE_DIR: state, LIBVIRT_DEFAULT_URI: 'qemu+tcp://127.0.0.1:1/system' } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal('target' in (JSON.parse(r.stdout) as object), false);
    const text = await runCli(['inspect', app.ova!], { env: { LIBVIRT_DEFAULT_URI: 'qemu+tcp://127.0.0.1:1/system' } });
    assert.equal(text.code, 0, text.stderr);
    assert.doesNotMatch(text.stdout, /^(Target|Free space):/m);
  });

  test('--transfer or --format without --pool is a usage error (exit 2) naming the flag', async () => {
    const r = await inspect('--transfer', 'stream');
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /inspect says how the disks reach a pool only when one is named; name the pool \(or the output directory\) \(--transfer\)/);
    const f = await inspect('--format', 'raw');
    assert.equal(f.code, 2, f.stderr);
    assert.match(f.stderr, /\(--format\)/);
  });

  test('an unknown pool is refused as import refuses it: the same message, exit 4', async () => {
    const pool = uniqueName('virt-ovf-no-such-pool');
    const r = await inspect('--pool', pool);
    const dry = await runCli(['import', app.ova!, '--name', name, '--pool', pool, '--dry-run'], { env: { VIRT_OVF_STATE_DIR: state } });
    assert.equal(r.code, 4, r.stderr);
    assert.equal(dry.code, 4, dry.stderr);
    const error = (s: string) => s.split('\n').find((l) => l.startsWith('virt-ovf: error:'));
    assert.match(error(r.stderr) ?? '', new RegExp(`storage pool "${pool}" does not exist on qemu:///system`));
    assert.equal(error(r.stderr), error(dry.stderr));
    await nothingCreated();
  });

  test('a pool type virt-ovf refuses (mpath) is refused with import\'s message, exit 4', async (t) => {
    const pool = uniqueName('virt-ovf-test-mpath');
    const started = await execa('virsh', ['-c', TEST_URI, 'pool-create-as', pool, 'mpath', '--target', '/dev/mapper'], { reject: false });
    if (started.exitCode !== 0) return t.skip(`this libvirtd cannot start an mpath pool: ${String(started.stderr).trim()}`);
    t.after(() => execa('virsh', ['-c', TEST_URI, 'pool-destroy', pool], { reject: false }));
    const r = await inspect('--pool', pool);
    const dry = await runCli(['import', app.ova!, '--name', name, '--pool', pool, '--dry-run'], { env: { VIRT_OVF_STATE_DIR: state } });
    assert.equal(r.code, 4, r.stderr);
    const error = (s: string) => s.split('\n').find((l) => l.startsWith('virt-ovf: error:'));
    assert.match(error(r.stderr) ?? '', new RegExp(`cannot import vmdisk1 \\(sda\\) into storage pool "${pool}" \\(type mpath\\): .*libvirt cannot create a volume there`));
    assert.equal(error(r.stderr), error(dry.stderr));
  });
});
