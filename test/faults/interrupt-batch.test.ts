// SIGINT during `virt-ovf import A B C --jobs 2`: the two imports in flight roll back, the third is
// skipped, exit 130, nothing left in the pool, no domain, nothing for virt-ovf cleanup.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildAppliance } from '../../scripts/appliance.js';
import { CLI, closeScratch, domainExists, openScratch, poolVolumes } from '../commands/helpers.js';
import { TEST_URI, uniqueName, type ScratchPool } from '../libvirt/harness.js';
import { assertCleanupFindsNothing } from './cleanup-check.js';

describe('an interrupted batch import', () => {
  let pool: ScratchPool;
  let work: string;
  const names: string[] = [];
  const ovas: string[] = [];

  before(async () => {
    ({ pool, work } = await openScratch('batchint'));
    for (let i = 0; i < 3; i++) {
      const name = uniqueName(`bint${i}`);
      names.push(name);
      ovas.push((await buildAppliance({ dir: join(work, name), name, content: 'mixed', diskSizeBytes: 512 * 2 ** 20, manifest: 'sha256' })).ova!);
    }
  });
  after(async () => {
    await closeScratch(pool, work, names);
  });

  test('SIGINT once both jobs convert: exit 130, both rolled back, the third skipped, the pool as before', async () => {
    const before0 = await poolVolumes(pool);
    const child = execa('node', [CLI, 'import', ...ovas, '--jobs', '2', '--pool', pool.name, '--virt-type', 'qemu', '--json'], {
      reject: false,
      stdin: 'ignore',
      buffer: false,
      env: { LIBVIRT_DEFAULT_URI: TEST_URI },
    });
    let out = '';
    let sent = false;
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      // Both packages have a conversion under way: a progress event names each one's volume.
      if (!sent && names.slice(0, 2).every((n) => new RegExp(`"task":"convert","name":"${n}`).test(out))) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const r = await child;
    assert.ok(sent, `no two conversions were seen under way:\n${out}`);
    assert.equal(r.exitCode, 130, out);
    const results = out.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; result?: { status: string; exitCode: number } }).filter((e) => e.kind === 'result').map((e) => e.result!);
    assert.deepEqual(results.map((x) => [x.status, x.exitCode]), [['failed', 130], ['failed', 130], ['skipped', 130]]);
    for (const name of names) assert.equal(domainExists(name), false, `domain ${name} left`);
    assert.deepEqual(await poolVolumes(pool), before0, 'volumes left in the pool');
    await assertCleanupFindsNothing();
  });
});
