// issue 9 items 2 and 10: `virt-ovf import … --json | head -1`. The reader goes away; the next
// write to stdout fails with EPIPE, which ends the run like SIGINT (exit 130, rollback) and
// quietly: no stack trace, nothing left in the pool, the package unchanged.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildAppliance, type ApplianceResult } from '../../scripts/appliance.js';
import { startSessionDaemon, type SessionDaemon } from '../harness/session-libvirtd.js';
import { digests, processesNaming, runWatched } from './interrupt-kit.js';

describe('EPIPE on stdout ends an import like SIGINT, quietly', () => {
  let d: SessionDaemon | undefined;
  let skip: string | undefined;
  let app: ApplianceResult;
  let pkgBefore: Map<string, string>;

  before(async () => {
    const started = await startSessionDaemon('epipe');
    if (typeof started === 'string') return void (skip = started);
    d = started;
    app = await buildAppliance({ dir: join(d.dir, 'pkg'), name: 'pipe', content: 'mixed', diskSizeBytes: 256 * 2 ** 20, manifest: 'none' });
    pkgBefore = await digests(join(d.dir, 'pkg'));
  });
  after(() => d?.stop());

  for (const [when, at] of [
    ['after the first line (| head -1)', /\n/],
    ['mid-convert', /"task":"convert"/],
  ] as const) {
    test(`stdout closed ${when}: exit 130, no stack trace, no volume, no domain, the package unchanged`, async (t) => {
      if (!d) return t.skip(skip);
      const name = `epipe-${at.source.length}`;
      const args = ['import', app.ova!, '-c', d.uri, '--pool', d.pool.name, '--name', name, '--user-net', '--virt-type', 'qemu'];
      const run = await runWatched(d, args, [{ when: at, act: (cli) => cli.closeStdout() }]);
      assert.equal(run.acted.length, 1);
      assert.equal(run.code, 130, run.stderr);
      assert.equal(run.stderr, '', 'nothing on stderr (the JSON events went to the closed stdout)');
      assert.deepEqual(await readdir(d.pool.path), [], 'a file is left in the pool directory');
      assert.equal((await d.virsh('vol-list', d.pool.name, '--name')).stdout.trim(), '', 'libvirt lists a volume');
      assert.equal((await d.virsh('list', '--all', '--name')).stdout.trim(), '', 'a domain was defined');
      assert.deepEqual(await processesNaming(`${name}-vmdisk1`), [], 'a qemu-img still writes the removed volume');
      assert.deepEqual(await digests(join(d.dir, 'pkg')), pkgBefore);
    });
  }
});
