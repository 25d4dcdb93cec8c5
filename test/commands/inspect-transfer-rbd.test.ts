// inspect --pool on an rbd pool of a real single-node Ceph cluster: QEMU's rbd driver and why, in
// import --dry-run's words; a stream is refused as import refuses it; no image is created.
import assert from 'node:assert/strict';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildAppliance, type ApplianceResult } from '../../scripts/appliance.js';
import { cephMissing, rbdCommand, rbdPool, startCeph, type CephCluster, type RbdPool } from '../harness/ceph.js';
import { uniqueName, type ScratchPool } from '../libvirt/harness.js';
import { closeScratch, openScratch, runCli } from './helpers.js';

describe('inspect --pool on an rbd pool', async () => {
  const skip = await cephMissing();
  let ceph: CephCluster | undefined;
  let pool: RbdPool | undefined;
  let scratch: ScratchPool | undefined;
  let work: string | undefined;
  let state: string;
  let app: ApplianceResult;
  const name = uniqueName('insp-rbd');

  before(async () => {
    if (skip) return;
    ({ pool: scratch, work } = await openScratch('inspect-rbd'));
    state = join(work, 'state');
    await mkdir(state);
    app = await buildAppliance({ dir: join(work, 'app'), name: 'appliance', manifest: 'sha256' });
    ceph = await startCeph();
    pool = await rbdPool(ceph);
  });
  after(async () => {
    await pool?.cleanup();
    await ceph?.stop();
    await closeScratch(scratch, work, []);
  });

  const run = (command: 'inspect' | 'import', ...args: string[]) => runCli([command, app.ova!, '--name', name, '--pool', pool!.name, ...args], { env: { VIRT_OVF_STATE_DIR: state } });
  const error = (s: string) => s.split('\n').find((l) => l.startsWith('virt-ovf: error:'));

  test("says QEMU's rbd driver and why, as import --dry-run does; creates no image and no journal", { skip }, async () => {
    const r = await run('inspect');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Target: +pool "${pool!.name}" \\(type rbd\\) on qemu:///system$`, 'm'));
    const reason = `rbd pool "${pool!.name}": QEMU's rbd driver writes the image from this machine, with the pool's monitors and secret`;
    assert.ok(r.stdout.includes(`  sda   disk ${name}-vmdisk1.img (raw): QEMU's rbd driver (${reason})\n`), r.stdout);
    assert.match(r.stdout, /^Free space: +64\.0 KiB of volume data, [\d.]+ [KMGT]i?B free: enough$/m);
    const dry = await run('import', '--user-net', '--dry-run');
    assert.equal(dry.code, 0, dry.stderr);
    assert.ok(dry.stderr.includes(`disk ${name}-vmdisk1.img: QEMU's rbd driver (${reason})`), dry.stderr);
    const json = await run('inspect', '--json');
    const volumes = (JSON.parse(json.stdout) as { target: { volumes: { dataPath: string; via: string; format: string }[] } }).target.volumes;
    assert.deepEqual(volumes.map((v) => [v.dataPath, v.via, v.format]), [['qemu-rbd', "QEMU's rbd driver", 'raw']]);
    assert.equal(String((await rbdCommand(ceph!, ['ls', ceph!.pool])).stdout).trim(), '', 'no RBD image was created');
    assert.deepEqual(await readdir(state), [], 'no run journal was written');
  });

  test('--transfer stream is refused with import\'s message (exit 2)', { skip }, async () => {
    const r = await run('inspect', '--transfer', 'stream');
    const dry = await run('import', '--transfer', 'stream', '--user-net', '--dry-run');
    assert.equal(r.code, 2, r.stderr);
    assert.match(error(r.stderr) ?? '', /is an rbd pool, which libvirt cannot upload into; .*choose transfer auto or local \(--transfer\)$/);
    assert.equal(error(r.stderr), error(dry.stderr));
  });
});
