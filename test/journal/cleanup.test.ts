// cleanupRuns on real files and processes: it removes what a dead run recorded, and only that.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { cleanupRuns } from '../../src/journal/cleanup.js';
import { identityOf, isRunning } from '../../src/journal/process-identity.js';
import { staleJournals } from '../../src/journal/stale.js';
import { silentReporter } from '../../src/report.js';
import { deadProcess, privateStateDir, writeJournal } from './helpers.js';

describe('virt-ovf cleanup (library) on files, directories and processes', () => {
  let state: { dir: string; remove(): Promise<void> };
  let work: string;
  before(async () => {
    state = await privateStateDir('cleanup');
    work = join(state.dir, '..', `${state.dir.split('/').pop()}-work`);
    await mkdir(work);
  });
  after(async () => {
    await state.remove();
    await rm(work, { recursive: true, force: true });
  });

  test('removes the recorded file and directory, leaves a replaced file and a pre-existing one, and keeps them in the journal', async () => {
    const ours = join(work, 'ours.part');
    const dir = join(work, 'virt-ovf-tmp');
    const replaced = join(work, 'replaced.part');
    const older = join(work, 'older.part');
    await writeFile(older, 'the user made this before the run');
    await sleep(100);
    const recordedAt = Date.now();
    await sleep(20);
    await writeFile(ours, 'partial');
    await mkdir(dir);
    await writeFile(join(dir, 'source'), 'temporary copy');
    await writeFile(replaced, 'first');
    const lagging = join(work, 'lagging.part');
    await writeFile(lagging, 'made just after the record');
    const id = async (p: string) => {
      const st = await stat(p);
      return { dev: st.dev, ino: st.ino };
    };
    const replacedId = await id(replaced);
    await rm(replaced);
    await writeFile(join(work, 'spacer'), 'takes the freed inode, if any');
    await writeFile(replaced, 'someone else made this later');
    const journal = writeJournal(state.dir, await deadProcess(), [
      { kind: 'file', path: ours, recordedAt, state: 'created', identity: await id(ours) },
      { kind: 'directory', path: dir, recordedAt, state: 'created', identity: await id(dir) },
      { kind: 'file', path: replaced, recordedAt, state: 'created', identity: replacedId },
      { kind: 'file', path: older, recordedAt, state: 'pending' },
      { kind: 'file', path: join(work, 'never-made'), recordedAt, state: 'pending' },
      // Killed right after creating it: the kernel's coarse clock stamps it a few ms before the record.
      { kind: 'file', path: lagging, recordedAt: (await stat(lagging)).birthtimeMs + 5, state: 'pending' },
    ]);
    const dry = await cleanupRuns({ dryRun: true, stateDir: state.dir }, silentReporter());
    assert.deepEqual(
      dry.runs[0]!.objects.map((o) => `${o.outcome} ${o.object}`),
      [`would-remove file ${lagging}`, `gone file ${join(work, 'never-made')}`, `left file ${older}`, `left file ${replaced}`, `would-remove directory ${dir}`, `would-remove file ${ours}`],
    );
    assert.ok(existsSync(ours) && existsSync(dir), 'a dry run removes nothing');
    const reporter = silentReporter();
    const done = await cleanupRuns({ stateDir: state.dir }, reporter);
    assert.equal(done.left, 2);
    assert.equal(existsSync(ours) || existsSync(dir) || existsSync(lagging), false);
    assert.equal(await readFile(replaced, 'utf8'), 'someone else made this later');
    assert.equal(await readFile(older, 'utf8'), 'the user made this before the run');
    assert.match(reporter.warnings.join('\n'), /existed before the run recorded it/);
    assert.deepEqual(staleJournals(state.dir)[0]!.file.entries.map((e) => e.kind === 'file' && e.path), [replaced, older], 'the journal keeps what was left alone');
    await rm(journal);
  });

  test('kills a recorded child only while it is the same process (pid and start time)', async () => {
    const child = execa('sleep', ['60'], { reject: false });
    const who = identityOf(child.pid!)!;
    const other = execa('sleep', ['60'], { reject: false });
    const otherWho = identityOf(other.pid!)!;
    const recordedAt = Date.now();
    writeJournal(state.dir, await deadProcess(), [
      { kind: 'process', pid: who.pid, startTime: who.startTime, command: 'sleep 60', recordedAt, state: 'pending' },
      // A pid the recorded child had, now another process: never killed.
      { kind: 'process', pid: otherWho.pid, startTime: String(Number(otherWho.startTime) + 1), command: 'qemu-img convert', recordedAt, state: 'pending' },
    ]);
    const result = await cleanupRuns({ stateDir: state.dir }, silentReporter());
    assert.deepEqual(result.runs[0]!.objects.map((o) => o.outcome), ['gone', 'removed']);
    await child.catch(() => undefined);
    assert.equal(isRunning(who), false, 'the recorded child was killed');
    assert.ok(isRunning(otherWho), 'a process reusing a recorded pid is left alone');
    other.kill('SIGKILL');
    await other.catch(() => undefined);
    assert.deepEqual(staleJournals(state.dir), [], 'everything gone: journal removed');
  });

  test('removes the temporary file of a journal write that a kill cut short, only when its process is gone', async () => {
    const dead = await deadProcess();
    const self = identityOf(process.pid)!;
    const cut = join(state.dir, `${dead.pid}-${dead.startTime}-0badcafe.json.tmp-12345678`);
    const live = join(state.dir, `${self.pid}-${self.startTime}-0badcafe.json.tmp-12345678`);
    await writeFile(cut, '{"version":1,"entr');
    await writeFile(live, '{"version":1,"entr');
    await cleanupRuns({ dryRun: true, stateDir: state.dir }, silentReporter());
    assert.ok(existsSync(cut), 'a dry run removes nothing');
    await cleanupRuns({ stateDir: state.dir }, silentReporter());
    assert.equal(existsSync(cut), false);
    assert.ok(existsSync(live), 'the write of a live run is left alone');
    await rm(live);
  });
});
