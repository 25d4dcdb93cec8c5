// Interrupting an import into a remote host (the namespace libvirtd over qemu+tcp): kill -9 after
// the volume is made and before its upload, mid-upload, and during define leaves a journal whose
// `virt-ovf cleanup` reaches the journaled URI and removes everything there; SIGINT mid-upload
// removes it at once.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { buildAppliance, type ApplianceResult } from '../../scripts/appliance.js';
import { readJournals } from '../../src/journal/stale.js';
import { CLI } from '../commands/helpers.js';
import { startRemoteHost, type RemoteHost } from '../harness/remote-libvirtd.js';

const MiB = 2 ** 20;

describe('an interrupted remote import leaves nothing on the remote host', () => {
  let host: RemoteHost | string;
  let work: string;
  let state: string;
  let small: ApplianceResult;
  let big: ApplianceResult;
  let n = 0;

  before(async () => {
    host = await startRemoteHost({ ssh: false });
    work = await mkdtemp(join(tmpdir(), 'virt-ovf-remote-kill-'));
    state = join(work, 'state');
    await mkdir(state);
    small = await buildAppliance({ dir: join(work, 'small'), name: 'small', manifest: 'none' });
    big = await buildAppliance({ dir: join(work, 'big'), name: 'big', content: 'mixed', diskSizeBytes: 384 * MiB, manifest: 'none' });
  });
  after(async () => {
    if (typeof host !== 'string' && host) {
      await cli(['cleanup']);
      await host.stop();
    }
    await rm(work, { recursive: true, force: true });
  });

  const env = () => ({ VIRT_OVF_STATE_DIR: state, LIBVIRT_DEFAULT_URI: (host as RemoteHost).tcpUri });
  async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const r = await execa('node', [CLI, ...args], { reject: false, env: env(), stdin: 'ignore', timeout: 300_000 });
    return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
  }
  const importArgs = (app: ApplianceResult, name: string) => ['import', app.ova!, '-c', (host as RemoteHost).tcpUri, '--pool', (host as RemoteHost).pools.images.name, '--name', name, '--virt-type', 'qemu', '--user-net'];

  /** What the remote host holds: volumes of the pool and domains. */
  async function remote(h: RemoteHost): Promise<{ volumes: string[]; domains: string[] }> {
    const names = (out: string, skip: number, col: number) => out.split('\n').slice(skip).map((l) => l.trim().split(/\s+/)[col] ?? '').filter((x) => x !== '');
    const vols = await h.virsh('vol-list', h.pools.images.name);
    const doms = await h.virsh('list', '--all', '--name');
    assert.equal(vols.code, 0, vols.stderr);
    return { volumes: names(vols.stdout, 2, 0), domains: names(doms.stdout, 0, 0) };
  }

  /** Runs an import with --json and sends `signal` the first time `when(stdout)` holds; resolves with how it ended. */
  async function interruptWhen(args: string[], when: (stdout: string) => boolean | Promise<boolean>, signal: NodeJS.Signals) {
    const child = execa('node', [CLI, ...args, '--json'], { reject: false, env: env(), stdin: 'ignore', buffer: false });
    let stdout = '';
    let stderr = '';
    let fired = false;
    let exited = false;
    // A moment seen in a chunk is acted on at once: define lasts one quick libvirt call.
    child.stdout!.on('data', (c: Buffer) => {
      stdout += String(c);
      if (!fired && !exited && when(stdout) === true) fired = child.kill(signal);
    });
    child.stderr!.on('data', (c: Buffer) => (stderr += String(c)));
    void child.then(() => (exited = true));
    const deadline = Date.now() + 240_000;
    while (!fired && !exited && !(await when(stdout))) {
      assert.ok(Date.now() < deadline, `the moment never came:\n${stdout}`);
      await sleep(20);
    }
    const missed = !fired && exited;
    if (!missed && !fired) child.kill(signal);
    const r = await child;
    return { missed, code: r.exitCode, signal: r.signal, stdout, stderr };
  }

  /** kill -9 when `when` holds (retrying when the run finished first), then cleanup, then nothing is left there. */
  async function killThenCleanup(t: { skip(m: string): void }, app: ApplianceResult, when: (stdout: string, name: string) => boolean | Promise<boolean>): Promise<void> {
    if (typeof host === 'string') return t.skip(host);
    const h = host;
    for (let attempt = 1; ; attempt++) {
      const name = `kill-${n++}`;
      const run = await interruptWhen(importArgs(app, name), (out) => when(out, name), 'SIGKILL');
      if (run.missed && attempt < 5) {
        assert.equal(run.code, 0, run.stderr);
        await h.virsh('undefine', name);
        await h.virsh('vol-delete', '--pool', h.pools.images.name, `${name}-vmdisk1.qcow2`);
        continue;
      }
      assert.equal(run.signal, 'SIGKILL', `killed (attempt ${attempt}):\n${run.stdout}`);
      const journals = readJournals(state);
      // On a loaded machine the kill can land after the commit (define is one quick call): the run
      // is complete and holds no journal; remove what it made and try again.
      if (journals.length === 0 && attempt < 5) {
        await h.virsh('undefine', name);
        await h.virsh('vol-delete', '--pool', h.pools.images.name, `${name}-vmdisk1.qcow2`);
        continue;
      }
      assert.equal(journals.length, 1, 'the killed run left its journal');
      assert.equal(journals[0]!.file.uri, h.tcpUri, 'journaled with the remote connection URI');
      const volume = journals[0]!.file.entries.find((e) => e.kind === 'volume');
      assert.ok(volume && volume.kind === 'volume' && volume.notHere === true, 'the remote volume is journaled as not here');
      const done = await cli(['cleanup']);
      assert.equal(done.code, 0, done.stderr);
      assert.doesNotMatch(done.stderr, /Left alone|internal error/);
      assert.deepEqual(await remote(h), { volumes: [], domains: [] }, 'nothing is left on the remote host');
      assert.deepEqual(await readdir(state), [], 'no journal is left');
      return;
    }
  }

  test('kill -9 once the volume exists on the remote host, before its upload: cleanup removes it there', async (t) => {
    // The run's journal says the volume was created there (virStorageVolCreateXML returned): a kill
    // between the volume's appearance and that record would leave it pending, which cleanup leaves
    // alone on another host (it cannot tell it from a volume someone else made), by design.
    await killThenCleanup(t, big, (out, name) => out.includes('Converting disk') && readJournals(state).some((j) => j.file.entries.some((e) => e.kind === 'volume' && e.name === `${name}-vmdisk1.qcow2` && e.state === 'created')));
  });

  test('kill -9 mid-upload of a 384 MiB disk: cleanup removes the partial volume there', async (t) => {
    await killThenCleanup(t, big, (out) => out.split('\n').some((l) => {
      const m = /"kind":"progress","task":"convert".*"bytesDone":(\d+),"bytesTotal":(\d+)/.exec(l);
      return m !== null && Number(m[1]) > 0 && Number(m[1]) < Number(m[2]);
    }));
  });

  test('kill -9 during define: cleanup removes the domain and the volume there', async (t) => {
    await killThenCleanup(t, small, (out) => out.includes('Defining domain'));
  });

  test('SIGINT mid-upload: the run removes its remote volume itself and leaves no journal', async (t) => {
    if (typeof host === 'string') return t.skip(host);
    const run = await interruptWhen(importArgs(big, 'sigint'), (out) => /"kind":"progress","task":"convert".*"bytesDone":[1-9]/.test(out), 'SIGINT');
    assert.equal(run.missed, false, 'interrupted before the end');
    assert.notEqual(run.code, 0);
    assert.match(run.stdout + run.stderr, /removing what this run created/);
    assert.deepEqual(await remote(host), { volumes: [], domains: [] }, 'nothing is left on the remote host');
    assert.deepEqual(await readdir(state), [], 'no journal is left');
  });
});
