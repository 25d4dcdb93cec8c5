// The run journal: atomic durable writes, entries recorded before objects exist, commit, stale
// detection by pid and start time, and Rollback keeping what it could not undo.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { inRunScope, RunJournal, writeAtomic, type JournalFile } from '../../src/journal/journal.js';
import { identityOf, isRunning } from '../../src/journal/process-identity.js';
import { reportStaleRuns, staleHolder, staleJournals } from '../../src/journal/stale.js';
import { journalDir, STATE_DIR_ENV } from '../../src/journal/state-dir.js';
import { makeTempDir } from '../../src/journal/tracked.js';
import { silentReporter } from '../../src/report.js';
import { Rollback } from '../../src/rollback.js';
import { deadProcess, privateStateDir, writeJournal } from './helpers.js';

const read = (path: string): JournalFile => JSON.parse(readFileSync(path, 'utf8')) as JournalFile;

describe('run journal', () => {
  let state: { dir: string; remove(): Promise<void> };
  before(async () => {
    state = await privateStateDir('unit');
  });
  after(() => state.remove());

  test('writeAtomic replaces the file in one rename and leaves no temporary file', () => {
    const path = join(state.dir, 'atomic.json');
    writeAtomic(path, '{"a":1}');
    writeAtomic(path, '{"a":2}');
    assert.equal(readFileSync(path, 'utf8'), '{"a":2}');
    assert.deepEqual(readdirSync(state.dir).filter((n) => n.startsWith('atomic')), ['atomic.json']);
  });

  test('an entry is on disk before the object is created, and commit removes the journal', async () => {
    const journal = RunJournal.start({ uri: 'qemu:///system', command: 'import x.ova', stateDir: state.dir });
    const file = read(journal.path);
    assert.deepEqual(file.process, identityOf(process.pid));
    assert.equal(file.uri, 'qemu:///system');
    const id = journal.record({ kind: 'domain', uuid: '00000000-0000-4000-8000-000000000001', name: 'd' });
    const onDisk = read(journal.path).entries;
    assert.equal(onDisk.length, 1);
    assert.equal(onDisk[0]!.state, 'pending');
    assert.ok(onDisk[0]!.recordedAt <= Date.now());
    journal.created(id);
    assert.equal(read(journal.path).entries[0]!.state, 'created');
    // Temporary directories made below the driver are recorded in the open journal.
    const temp = await makeTempDir(state.dir, 'tmp-');
    const dirEntry = read(journal.path).entries.find((e) => e.kind === 'directory');
    assert.ok(dirEntry && dirEntry.kind === 'directory' && dirEntry.path === temp.dir && dirEntry.identity, 'the directory is journaled with its inode');
    await temp.release();
    assert.equal(existsSync(temp.dir), false);
    assert.equal(read(journal.path).entries.some((e) => e.kind === 'directory'), false, 'released: forgotten');
    journal.commit();
    assert.equal(existsSync(journal.path), false);
  });

  test('runs sharing the process (a batch) journal only what their own async context makes', async () => {
    const outside = RunJournal.start({ uri: 'qemu:///system', command: 'import outside.ova', stateDir: state.dir });
    const run = (label: string) =>
      inRunScope(async () => {
        const journal = RunJournal.start({ uri: 'qemu:///system', command: `import ${label}.ova`, stateDir: state.dir });
        await new Promise((r) => setImmediate(r)); // both runs are under way before either makes anything
        const temp = await makeTempDir(state.dir, `${label}-`);
        const paths = read(journal.path).entries.map((e) => e.kind === 'directory' && e.path);
        return { journal, temp, paths };
      });
    const [a, b] = await Promise.all([run('a'), run('b')]);
    assert.deepEqual(a.paths, [a.temp.dir], "run a's journal holds its own directory only");
    assert.deepEqual(b.paths, [b.temp.dir], "run b's journal holds its own directory only");
    assert.deepEqual(read(outside.path).entries, [], 'a journal outside the scopes gets nothing of theirs');
    // a closes first while b's directory still exists: a's journal is removed, b's keeps its entry.
    await a.temp.release();
    a.journal.close();
    assert.equal(existsSync(a.journal.path), false);
    await b.temp.release();
    b.journal.commit();
    outside.commit();
    assert.equal(existsSync(b.journal.path) || existsSync(outside.path), false);
  });

  test('a live run is not stale; a dead pid and a pid reused by another process are', async () => {
    const live = RunJournal.start({ uri: 'qemu:///system', command: 'export d', stateDir: state.dir });
    const dead = writeJournal(state.dir, await deadProcess(), []);
    const self = identityOf(process.pid)!;
    assert.ok(isRunning(self));
    // Our own pid with another start time: the pid was reused by this process after the run died.
    const reused = writeJournal(state.dir, { ...self, startTime: String(Number(self.startTime) - 1) }, []);
    const stale = staleJournals(state.dir).map((j) => j.path).sort();
    assert.deepEqual(stale, [dead, reused].sort());
    assert.ok(!stale.includes(live.path));
    live.commit();
  });

  test('a stale run that holds a name is found, and every run warns about it naming virt-ovf cleanup', async () => {
    const path = writeJournal(state.dir, await deadProcess(), [{ kind: 'volume', pool: 'p', name: 'v.qcow2', recordedAt: Date.now(), state: 'created' }]);
    assert.equal(staleHolder('qemu:///system', { kind: 'volume', pool: 'p', name: 'v.qcow2' }, state.dir)?.path, path);
    assert.equal(staleHolder('qemu:///session', { kind: 'volume', pool: 'p', name: 'v.qcow2' }, state.dir), undefined, 'another connection');
    assert.equal(staleHolder('qemu:///system', { kind: 'volume', pool: 'q', name: 'v.qcow2' }, state.dir), undefined, 'another pool');
    const reporter = silentReporter();
    reportStaleRuns(reporter, state.dir);
    assert.match(reporter.warnings.join('\n'), /interrupted virt-ovf run\(s\) left 1 object\(s\) behind .*virt-ovf cleanup --dry-run .*virt-ovf cleanup/);
  });

  test('Rollback: an undone object leaves the journal; one whose undo throws stays, recorded for virt-ovf cleanup', async () => {
    const journal = RunJournal.start({ uri: 'qemu:///system', command: 'import y.ova', stateDir: state.dir });
    const rollback = new Rollback(journal);
    const a = rollback.record({ kind: 'file', path: '/nonexistent/a' });
    rollback.add('file a', () => undefined, a);
    const b = rollback.record({ kind: 'volume', pool: 'p', name: 'b' });
    rollback.add('volume b', () => {
      throw new Error('libvirtd is gone');
    }, b);
    const reporter = silentReporter();
    await rollback.run(reporter);
    assert.match(reporter.warnings[0]!, /rollback of volume b failed: libvirtd is gone; recorded for virt-ovf cleanup/);
    assert.deepEqual(read(journal.path).entries.map((e) => e.kind), ['volume'], 'only the failed undo stays');
    const ok = RunJournal.start({ uri: 'qemu:///system', command: 'import z.ova', stateDir: state.dir });
    const okRollback = new Rollback(ok);
    okRollback.add('file c', () => undefined, okRollback.record({ kind: 'file', path: '/nonexistent/c' }));
    await okRollback.run(silentReporter());
    assert.equal(existsSync(ok.path), false, 'everything undone: no journal left');
  });

  test('the journal directory: the option, then $VIRT_OVF_STATE_DIR, then /var/lib/virt-ovf/runs for root, else $XDG_STATE_HOME', () => {
    const saved = { env: process.env[STATE_DIR_ENV], xdg: process.env['XDG_STATE_HOME'] };
    try {
      process.env[STATE_DIR_ENV] = '/env/dir';
      assert.equal(journalDir('/opt/dir'), '/opt/dir');
      assert.equal(journalDir(), '/env/dir');
      delete process.env[STATE_DIR_ENV];
      process.env['XDG_STATE_HOME'] = '/xdg';
      assert.equal(journalDir(), process.getuid?.() === 0 ? '/var/lib/virt-ovf/runs' : '/xdg/virt-ovf/runs');
    } finally {
      for (const [k, v] of [[STATE_DIR_ENV, saved.env], ['XDG_STATE_HOME', saved.xdg]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});
