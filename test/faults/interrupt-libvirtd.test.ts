// issue 9 items 2 and 10: a private libvirtd (qemu:///session, unprivileged user) that dies or
// stops answering mid-import. The run ends with the right exit code and message, the volume's
// file is removed directly when libvirt cannot do it, and what libvirt alone could remove (a
// domain it may have defined) is reported as kept for `virt-ovf cleanup`.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildAppliance, type ApplianceResult } from '../../scripts/appliance.js';
import { startSessionDaemon, type SessionDaemon } from '../harness/session-libvirtd.js';
import { digests, processesNaming, runWatched, type Watched } from './interrupt-kit.js';

const CONVERT = /"task":"convert"/;
const CONVERTED = /"kind":"progress-end","task":"convert"/;
const DEFINING = /"message":"Defining domain /;
const STARTING = /"message":"Starting domain /;

describe('libvirtd dies or hangs mid-import', () => {
  let d: SessionDaemon | undefined;
  let skip: string | undefined;
  let app: ApplianceResult;
  let before0: Map<string, string>;

  before(async () => {
    const started = await startSessionDaemon('faults');
    if (typeof started === 'string') return void (skip = started);
    d = started;
    app = await buildAppliance({ dir: join(d.dir, 'pkg'), name: 'big', content: 'mixed', diskSizeBytes: 256 * 2 ** 20, manifest: 'none' });
    before0 = await digests(join(d.dir, 'pkg'));
  });
  after(() => d?.stop());

  /** The import of the appliance as `name` (no --start unless asked). */
  const importArgs = (name: string, more: string[] = []) => ['import', app.ova!, '-c', d!.uri, '--pool', d!.pool.name, '--name', name, '--user-net', '--virt-type', 'qemu', ...more];

  /** Nothing of run `name` is left: no file in the pool directory, no qemu-img on its volume, the package unchanged. */
  async function assertNothingLeft(name: string, run: Watched): Promise<void> {
    assert.deepEqual(await readdir(d!.pool.path), [], `files left in the pool directory\n${run.stdout}`);
    assert.deepEqual(await processesNaming(`${name}-vmdisk1`), [], 'a process still works on the removed volume');
    assert.deepEqual(await digests(join(d!.dir, 'pkg')), before0, 'the package files changed');
    assert.doesNotMatch(run.stderr + run.stdout, /this is a bug|\n\s+at \S+ \(/, 'a stack trace reached the user');
  }

  /** Brings libvirtd back (SIGCONT or restart), then the pool, and returns the domains it has. */
  async function revive(): Promise<string[]> {
    await d!.revive();
    return (await d!.virsh('list', '--all', '--name')).stdout.split('\n').filter((n) => n.trim() !== '');
  }

  test('SIGKILL of libvirtd mid-convert: exit 4 naming the lost connection, the volume file removed directly, nothing left', async (t) => {
    if (!d) return t.skip(skip);
    await d.revive();
    const name = 'kill-convert';
    const run = await runWatched(d, importArgs(name), [{ when: CONVERT, act: () => d!.signal('SIGKILL') }]);
    assert.equal(run.acted.length, 1, `no conversion progress was seen: ${run.stdout}`);
    assert.equal(run.code, 4, run.stdout + run.stderr);
    assert.match(run.stdout, /"kind":"error","message":"virDomainDefineXML: [^"]*(connection to libvirt was lost|socket is closed|End of file)/);
    assert.match(run.stdout, new RegExp(`Rolled back: volume ${name}-vmdisk1\\.qcow2`));
    assert.doesNotMatch(run.stdout, /kept for virt-ovf cleanup/, 'a define that was never sent needs no cleanup');
    await assertNothingLeft(name, run);
    assert.deepEqual(await revive(), [], 'a domain was defined');
    assert.equal((await d.virsh('vol-list', d.pool.name, '--name')).stdout.trim(), '', 'libvirt still lists a volume');
  });

  test('SIGKILL of libvirtd during define: exit 4, the volume file removed directly, the domain reported as kept for cleanup', async (t) => {
    if (!d) return t.skip(skip);
    await d.revive();
    const name = 'kill-define';
    const run = await runWatched(d, importArgs(name), [
      { when: CONVERTED, act: () => d!.signal('SIGSTOP') },
      { when: DEFINING, delayMs: 300, act: () => d!.signal('SIGKILL') },
    ]);
    assert.equal(run.acted.length, 2, `the define was not reached: ${run.stdout}`);
    assert.equal(run.code, 4, run.stdout + run.stderr);
    assert.match(run.stdout, /"kind":"error","message":"virDomainDefineXML: /);
    assert.match(run.stdout, new RegExp(`Rolled back: volume ${name}-vmdisk1\\.qcow2`));
    assert.match(run.stdout, new RegExp(`domain \\\\"${name}\\\\" \\([0-9a-f-]{36}\\), if libvirt defined it, is kept for virt-ovf cleanup`));
    await assertNothingLeft(name, run);
    assert.deepEqual(await revive(), [], 'the killed daemon defined the domain after all');
  });

  for (const [step, when, extra] of [['define', DEFINING, []], ['start', STARTING, ['--start']]] as const) {
    test(`libvirtd SIGSTOPped during ${step}, then SIGINT: exit 130 within 10 s, the volume file removed, the domain reported as kept for cleanup`, async (t) => {
      if (!d) return t.skip(skip);
    await d.revive();
      const name = `stop-${step}`;
      const steps = [
        ...(step === 'define' ? [{ when: CONVERTED, act: () => d!.signal('SIGSTOP') }, { when, delayMs: 300, act: (cli: { kill(s: NodeJS.Signals): void }) => cli.kill('SIGINT') }] : []),
        ...(step === 'start'
          ? [
              { when, act: () => d!.signal('SIGSTOP') },
              { when, delayMs: 300, act: (cli: { kill(s: NodeJS.Signals): void }) => cli.kill('SIGINT') },
            ]
          : []),
      ];
      const run = await runWatched(d, importArgs(name, [...extra]), steps);
      assert.equal(run.acted.length, 2, `the ${step} was not reached: ${run.stdout}`);
      const ms = run.exitedAt - run.acted[1]!;
      assert.ok(ms < 10_000, `the run took ${Math.round(ms)} ms after SIGINT: ${run.stdout.replace(/.*"bytesDone".*\n/g, "")}\n${run.stderr}`);
      assert.equal(run.code, 130, run.stdout + run.stderr);
      assert.match(run.stdout, /"kind":"error","message":"interrupted by SIGINT","exitCode":130/);
      assert.match(run.stdout, new RegExp(`Rolled back: volume ${name}-vmdisk1\\.qcow2`));
      assert.match(run.stdout, new RegExp(`domain \\\\"${name}\\\\" \\([0-9a-f-]{36}\\), if libvirt defined it, is kept for virt-ovf cleanup`));
      await assertNothingLeft(name, run);
      // The stopped daemon may still carry out the request it had read; that domain is what cleanup removes.
      for (const left of await revive()) {
        assert.equal(left, name, 'a domain of another run');
        await d.virsh('destroy', left);
        await d.virsh('undefine', left, '--nvram');
      }
    });
  }
});
