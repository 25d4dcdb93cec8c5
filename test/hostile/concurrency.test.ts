// Concurrency, end to end (issue 4, hostile input 11): two imports of one OVA at once. Different
// names: both succeed with their own volumes. The same name: exactly one wins, the other fails
// cleanly, and the winner's domain points at a volume that exists.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { domainExists, poolVolumes, removeDomain } from '../commands/helpers.js';
import { assertQemuCalls, dropImport } from './checks.js';
import { baseFiles, packOva, setUp, tearDown, TEST_URI, uniqueName, type Scene } from './kit.js';
import { importPkg } from './run.js';

/** The pool/volume pairs a defined domain's disks use. */
async function domainVolumes(name: string): Promise<string[]> {
  const xml = (await execa('virsh', ['-c', TEST_URI, 'dumpxml', name])).stdout;
  return [...xml.matchAll(/<source pool='([^']+)' volume='([^']+)'\/>/g)].map((m) => `${m[1]}/${m[2]}`);
}

describe('parallel imports of one OVA', () => {
  let s: Scene;
  let ova: string;

  before(async () => {
    s = await setUp('parallel');
    ova = await packOva(s, 'shared', baseFiles(s));
  });
  after(() => tearDown(s));

  test('11. two different --name values in parallel: both succeed, each with its own volume', async () => {
    const before0 = await poolVolumes(s.pool);
    const [a, b] = await Promise.all([importPkg(s, ova, { name: uniqueName('par-a') }), importPkg(s, ova, { name: uniqueName('par-b') })]);
    try {
      assert.equal(a.code, 0, a.stderr);
      assert.equal(b.code, 0, b.stderr);
      assert.ok(domainExists(a.name) && domainExists(b.name));
      assert.deepEqual(await domainVolumes(a.name), [`${s.pool.name}/${a.name}-vmdisk1.qcow2`]);
      assert.deepEqual(await domainVolumes(b.name), [`${s.pool.name}/${b.name}-vmdisk1.qcow2`]);
      const added = (await poolVolumes(s.pool)).filter((v) => !before0.includes(v)).sort();
      assert.deepEqual(added, [`${a.name}-vmdisk1.qcow2`, `${b.name}-vmdisk1.qcow2`].sort());
      assertQemuCalls(s, a);
      assertQemuCalls(s, b);
    } finally {
      await dropImport(s, a);
      await removeDomain(b.name);
    }
  });

  for (const round of [1, 2, 3]) {
    test(`11. the same --name twice in parallel (round ${round}): exactly one wins, the loser fails cleanly`, async (t) => {
      const name = uniqueName('same');
      const before0 = await poolVolumes(s.pool);
      const runs = await Promise.all([importPkg(s, ova, { name, runId: `${name}-1` }), importPkg(s, ova, { name, runId: `${name}-2` })]);
      try {
        const winners = runs.filter((r) => r.code === 0);
        const losers = runs.filter((r) => r.code !== 0);
        assert.equal(winners.length, 1, runs.map((r) => `exit ${r.code}: ${r.stderr}`).join('\n---\n'));
        const loser = losers[0]!;
        t.diagnostic(`loser: exit ${loser.code}: ${loser.stderr.trim().split('\n').pop()}`);
        assert.equal(loser.code, 4, loser.stderr);
        assert.match(loser.stderr, new RegExp(`virt-ovf: error: .*(a domain named "${name}" already exists|volume "${name}-vmdisk1\\.qcow2" already exists|${name}-vmdisk1\\.qcow2.*(exists|in use))`));
        assert.doesNotMatch(loser.stderr, /Rolled back: volume/, 'the loser removed a volume it did not create');
        assert.ok(domainExists(name));
        const volumes = await domainVolumes(name);
        assert.deepEqual(volumes, [`${s.pool.name}/${name}-vmdisk1.qcow2`]);
        await access(join(s.pool.path, `${name}-vmdisk1.qcow2`));
        const same = await execa('qemu-img', ['compare', '-f', 'qcow2', '-F', 'raw', join(s.pool.path, `${name}-vmdisk1.qcow2`), s.base.rawDisk], { reject: false });
        assert.equal(same.exitCode, 0, `the winner's volume does not hold the guest disk: ${same.stdout}${same.stderr}`);
        const added = (await poolVolumes(s.pool)).filter((v) => !before0.includes(v));
        assert.deepEqual(added, [`${name}-vmdisk1.qcow2`]);
      } finally {
        await dropImport(s, runs[0]!, name);
      }
    });
  }
});
