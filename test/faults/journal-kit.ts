// Shared by the SIGKILL fault tests: a private state directory, TMPDIR and pool; a CLI run killed
// with SIGKILL at a chosen moment; and the checks after it (orphans gone, the name refused with
// virt-ovf cleanup, cleanup --dry-run lists, cleanup removes, a second cleanup finds nothing,
// pre-existing files byte-identical).
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, lstat, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI, closeScratch, openScratch } from '../commands/helpers.js';
import type { JournalEntry } from '../../src/journal/entries.js';
import { isRunning } from '../../src/journal/process-identity.js';
import { readJournals } from '../../src/journal/stale.js';
import { TEST_URI, type ScratchPool } from '../libvirt/harness.js';

/** The private world of one fault test file. */
export interface KillScene {
  pool: ScratchPool;
  work: string;
  /** VIRT_OVF_STATE_DIR of every run. */
  state: string;
  /** TMPDIR of every run. */
  tmp: string;
  domains: string[];
}

export async function openKillScene(label: string): Promise<KillScene> {
  const { pool, work } = await openScratch(`faults-${label}`);
  const state = join(work, 'state');
  const tmp = join(work, 'tmp');
  await mkdir(state);
  await mkdir(tmp);
  // QEMU (libvirt-qemu) writes a running domain's backup copy under TMPDIR.
  await chmod(work, 0o755);
  await chmod(tmp, 0o755);
  return { pool, work, state, tmp, domains: [] };
}

export async function closeKillScene(s: KillScene | undefined): Promise<void> {
  if (s) await execa('node', [CLI, 'cleanup'], { reject: false, env: env(s) }); // whatever a failed test left
  await closeScratch(s?.pool, s?.work, s?.domains ?? []);
}

function env(s: KillScene): Record<string, string> {
  return { LIBVIRT_DEFAULT_URI: TEST_URI, TMPDIR: s.tmp, VIRT_OVF_STATE_DIR: s.state };
}

/** Runs `virt-ovf ARGS` to completion in the scene's environment. */
export async function cli(s: KillScene, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await execa('node', [CLI, ...args], { reject: false, env: env(s), stdin: 'ignore', timeout: 300_000 });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/**
 * Runs `virt-ovf ARGS --json` and kills it with SIGKILL the first time `when` holds (checked on
 * each stdout chunk and every 20 ms). @returns its output and the journal entries it left.
 */
export async function killWhen(s: KillScene, args: string[], when: (stdout: string) => boolean | Promise<boolean>): Promise<{ stdout: string; entries: JournalEntry[] }> {
  const child = execa('node', [CLI, ...args, '--json'], { reject: false, env: env(s), stdin: 'ignore', buffer: false });
  let stdout = '';
  let fired = false;
  const fire = (): void => {
    if (!fired) child.kill('SIGKILL');
    fired = true;
  };
  // A moment seen in a chunk is acted on at once: define lasts one quick libvirt call.
  child.stdout!.on('data', (c: Buffer) => {
    stdout += String(c);
    if (!fired && when(stdout) === true) fire();
  });
  const deadline = Date.now() + 240_000;
  let exited = false;
  void child.then(() => (exited = true));
  while (!fired && !(await when(stdout))) {
    assert.ok(!exited, `the run ended before the moment to kill it:\n${stdout}`);
    assert.ok(Date.now() < deadline, `the moment to kill never came:\n${stdout}`);
    await sleep(20);
  }
  fire();
  const r = await child;
  assert.equal(r.signal, 'SIGKILL');
  const journals = readJournals(s.state);
  assert.equal(journals.length, 1, 'the killed run left its journal');
  return { stdout, entries: [...journals[0]!.file.entries] };
}

/**
 * killWhen for a moment that lasts only as long as one quick libvirt call (define): when the
 * kill lands after the run committed (its journal already removed: the moment was missed on a
 * loaded machine), `undo` removes what that complete run made and the run is tried again, at
 * most `attempts` times.
 */
export async function killWhenRetrying(s: KillScene, args: string[], when: (stdout: string) => boolean, undo: () => Promise<void>, attempts = 5): Promise<{ stdout: string; entries: JournalEntry[] }> {
  for (let i = 1; ; i++) {
    try {
      return await killWhen(s, args, when);
    } catch (err) {
      if (i >= attempts || readJournals(s.state).length !== 0 || !/the killed run left its journal/.test((err as Error).message)) throw err;
      await undo();
    }
  }
}

/** Asserts every child the journal recorded is gone (killed with virt-ovf through its death signal) and no qemu-img/qemu-nbd works on `needle`. */
export async function assertNoOrphans(entries: readonly JournalEntry[], bootId: string, needle: string): Promise<void> {
  for (const e of entries) {
    if (e.kind !== 'process') continue;
    const who = { pid: e.pid, startTime: e.startTime, bootId };
    for (let i = 0; i < 100 && isRunning(who); i++) await sleep(20);
    assert.equal(isRunning(who), false, `orphan ${e.command} (pid ${e.pid}) still runs`);
  }
  const ps = String((await execa('ps', ['-eo', 'stat=,args='])).stdout).split('\n');
  assert.deepEqual(ps.filter((l) => !l.startsWith('Z') && /qemu-(img|nbd)/.test(l) && l.includes(needle)), [], 'a qemu-img or qemu-nbd still runs');
}

/** sha256 of every regular file under `dirs` (recursively), by path. */
export async function digests(...paths: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const p of paths) {
    const st = await lstat(p);
    const files = st.isDirectory() ? (await readdir(p, { recursive: true })).map((f) => join(p, f)) : [p];
    for (const f of files) {
      if (!(await lstat(f)).isFile()) continue;
      const h = createHash('sha256');
      await pipeline(createReadStream(f), h);
      out.set(f, h.digest('hex'));
    }
  }
  return out;
}

/**
 * The cleanup cycle after a kill: `cleanup --dry-run` lists `objects` (and removes nothing),
 * `cleanup` removes them (exit 0), the journal directory is then empty, and a second cleanup
 * finds nothing. `stillThere` / `goneAfter` check the objects before and after.
 */
export async function assertCleanupCycle(s: KillScene, objects: RegExp[], check: { stillThere(): Promise<void>; goneAfter(): Promise<void> }): Promise<void> {
  const dry = await cli(s, ['cleanup', '--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  for (const re of objects) assert.match(dry.stderr, re, `cleanup --dry-run lists ${String(re)}`);
  assert.match(dry.stdout, /object\(s\) would be removed/);
  await check.stillThere();
  const done = await cli(s, ['cleanup']);
  assert.equal(done.code, 0, done.stderr);
  assert.doesNotMatch(done.stderr, /Left alone|internal error/);
  await check.goneAfter();
  assert.deepEqual(await readdir(s.state), [], 'no journal is left');
  const again = await cli(s, ['cleanup', '--json']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /"kind":"result","result":\{"dryRun":false,"runs":\[\],"left":0\}/);
}

/** True when `dir` has an entry whose name starts with `prefix`. */
export async function hasEntry(dir: string, prefix: string): Promise<boolean> {
  return (await readdir(dir).catch(() => [] as string[])).some((n) => n.startsWith(prefix));
}
