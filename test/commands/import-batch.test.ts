// `virt-ovf import A B C D --jobs 2` on a real libvirtd: one domain each, a broken package rolls back alone.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildAppliance, fileDigest } from '../../scripts/appliance.js';
import { uniqueName, type ScratchPool } from '../libvirt/harness.js';
import { closeScratch, domainExists, openScratch, poolVolumes, runCli } from './helpers.js';

describe('import of several packages at once', () => {
  let pool: ScratchPool;
  let work: string;
  const names: string[] = [];
  const ovas: string[] = [];
  let broken: string;

  before(async () => {
    ({ pool, work } = await openScratch('batch'));
    for (let i = 0; i < 4; i++) {
      const name = uniqueName(`batch${i}`);
      names.push(name);
      const app = await buildAppliance({ dir: join(work, name), name, ova: i !== 2, manifest: 'sha256' });
      if (i !== 2) {
        ovas.push(app.ova!);
        continue;
      }
      // The third package's manifest names a wrong digest for its disk: its import fails after its volume was made.
      const good = await fileDigest(app.vmdk, 'sha256');
      await writeFile(app.mf!, (await readFile(app.mf!, 'utf8')).replace(good, good.replace(/^./, (c) => (c === '0' ? '1' : '0'))));
      broken = join(work, `${name}.ova`);
      await execa('tar', ['--format=ustar', '-cf', broken, '-C', join(work, name), `${name}.ovf`, `${name}.mf`, `${name}-disk1.vmdk`]);
      ovas.push(broken);
    }
  });
  after(async () => {
    await closeScratch(pool, work, names);
  });

  test('four packages, one broken, two at a time: three domains, the broken one rolled back alone, one JSON result each, exit 3', async () => {
    const before0 = await poolVolumes(pool);
    const r = await runCli(['import', ...ovas, '--jobs', '2', '--pool', pool.name, '--virt-type', 'qemu', '--json']);
    assert.equal(r.code, 3, r.stderr);
    const results = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; result?: Record<string, unknown> }).filter((e) => e.kind === 'result').map((e) => e.result!);
    assert.deepEqual(results.map((x) => x['source']), ovas, 'one result per package, in the order given');
    assert.deepEqual(results.map((x) => x['status']), ['imported', 'imported', 'failed', 'imported']);
    assert.deepEqual(results.map((x) => x['domain']), names);
    const failure = results[2]!['error'] as { message: string; exitCode: number };
    assert.equal(failure.exitCode, 3);
    assert.match(failure.message, /SHA256 digest mismatch/);
    for (const [i, name] of names.entries()) assert.equal(domainExists(name), i !== 2, `domain ${name}`);
    const added = (await poolVolumes(pool)).filter((v) => !before0.includes(v));
    assert.equal(added.length, 3, `volumes of the three imported domains only: ${added.join(', ')}`);
    for (const v of added) assert.ok(!v.startsWith(names[2]!), `volume ${v} of the broken package left`);
  });

  test('a dry run of the batch prints the summary table, one row per package', async () => {
    const fresh = await Promise.all([0, 1].map(async (i) => {
      const name = uniqueName(`batchdry${i}`);
      return (await buildAppliance({ dir: join(work, name), name })).ova!;
    }));
    const r = await runCli(['import', ...fresh, broken, '--pool', pool.name, '--virt-type', 'qemu', '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n').filter((l) => /^(DOMAIN|batchdry|batch2)/.test(l));
    assert.match(lines[0]!, /^DOMAIN\s+RESULT\s+TIME\s+SOURCE/);
    assert.equal(lines.length, 4, r.stdout);
    assert.match(r.stdout, /3 of 3 package\(s\) checked/);
  });

  test('two packages that would get the same domain name are refused before any work (exit 2, both named)', async () => {
    const copy = join(work, 'same-name.ova');
    await copyFile(ovas[0]!, copy);
    const before0 = await poolVolumes(pool);
    const r = await runCli(['import', ovas[0]!, copy, '--pool', pool.name, '--virt-type', 'qemu']);
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stderr.includes(ovas[0]!) && r.stderr.includes(copy), r.stderr);
    assert.match(r.stderr, /would both become domain/);
    assert.deepEqual(await poolVolumes(pool), before0);
  });

  test('flags that name one domain, and standard input among several, are refused (exit 2)', async () => {
    for (const [args, re] of [
      [['--name', 'x'], /--name names one domain/],
      [['--serial-log', join(work, 'log')], /--serial-log names one domain/],
      [['--all'], /--all imports the VirtualSystems of one package/],
    ] as const) {
      const r = await runCli(['import', ovas[0]!, ovas[1]!, ...args, '--pool', pool.name]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, re);
    }
    const r = await runCli(['import', ovas[0]!, '-', '--pool', pool.name]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /standard input \(-\) carries one package/);
    const j = await runCli(['import', ovas[0]!, ovas[1]!, '--jobs', '0', '--pool', pool.name]);
    assert.equal(j.code, 2, j.stderr);
    assert.match(j.stderr, /at least 1.*--jobs/);
  });
});
