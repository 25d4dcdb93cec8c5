// Journals left by runs whose process is gone: listed, reported at the start of every run, and
// named by the error that refuses a name such a run still holds.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Reporter } from '../report.js';
import type { JournalFile } from './journal.js';
import { isRunning, startTimeOf } from './process-identity.js';
import { journalDir } from './state-dir.js';

/** A journal file and its content. */
export interface StoredJournal {
  readonly path: string;
  readonly file: JournalFile;
}

/** Every readable journal in `journalDir(stateDir)` (none when the directory does not exist); unreadable or partial files are skipped. */
export function readJournals(stateDir?: string): StoredJournal[] {
  const dir = journalDir(stateDir);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json')).sort();
  } catch {
    return [];
  }
  const out: StoredJournal[] = [];
  for (const name of names) {
    try {
      const file = JSON.parse(readFileSync(join(dir, name), 'utf8')) as JournalFile;
      if (file && typeof file === 'object' && file.process && Array.isArray(file.entries)) out.push({ path: join(dir, name), file });
    } catch {
      // written by a newer version, or not a journal: left alone
    }
  }
  return out;
}

/** Journals whose process is gone (a dead pid, or a pid now used by another process or boot). */
export function staleJournals(stateDir?: string): StoredJournal[] {
  return readJournals(stateDir).filter((j) => !isRunning(j.file.process));
}

/**
 * Temporary files of journal writes that a kill interrupted before their rename
 * (`PID-STARTTIME-RANDOM.json.tmp-RANDOM`) whose process (pid and start time in the name) is
 * gone. Their content is never needed: an entry is written before its object is created, so an
 * entry that never reached the journal names nothing that exists.
 */
export function staleTemporaries(stateDir?: string): string[] {
  const dir = journalDir(stateDir);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    const m = /^(\d+)-(\d+)-[0-9a-f]+\.json\.tmp-[0-9a-f]+$/.exec(n);
    return m && startTimeOf(Number(m[1])) !== m[2] ? [join(dir, n)] : [];
  });
}

/** One line naming a stale run: `pid 123 (import x.ova, started 2026-…)`. */
export function describeRun(j: StoredJournal): string {
  return `pid ${j.file.process.pid} (${j.file.command}, started ${j.file.startedAt})`;
}

/** Warns when runs whose process is gone left objects behind, and names `virt-ovf cleanup`. */
export function reportStaleRuns(reporter: Reporter, stateDir?: string): void {
  const stale = staleJournals(stateDir).filter((j) => j.file.entries.length > 0);
  if (stale.length === 0) return;
  const objects = stale.reduce((n, j) => n + j.file.entries.length, 0);
  reporter.emit({
    kind: 'warning',
    message: `${stale.length} interrupted virt-ovf run(s) left ${objects} object(s) behind (journals in ${journalDir(stateDir)}); list them with virt-ovf cleanup --dry-run and remove them with virt-ovf cleanup`,
  });
}

/**
 * The stale run on `uri` whose journal holds domain `name` (`what.kind` 'domain') or volume
 * `name` of pool `what.pool`, or file `path`, if any: the name it blocks is debris, not the user's.
 */
export function staleHolder(uri: string, what: { kind: 'domain'; name: string } | { kind: 'volume'; pool: string; name: string } | { kind: 'file'; path: string }, stateDir?: string): StoredJournal | undefined {
  return staleJournals(stateDir).find((j) =>
    j.file.entries.some((e) => {
      if (e.kind !== what.kind) return false;
      if (e.kind === 'file' && what.kind === 'file') return e.path === what.path;
      if (j.file.uri !== uri) return false;
      if (e.kind === 'domain' && what.kind === 'domain') return e.name === what.name;
      return e.kind === 'volume' && what.kind === 'volume' && e.pool === what.pool && e.name === what.name;
    }),
  );
}

/**
 * What to do about a `.part` file that already exists: when a stale run (journals in the
 * default directory, see journalDir) recorded it, run `virt-ovf cleanup`; else remove it and retry.
 */
export function partRemedy(path: string): string {
  const held = staleHolder('', { kind: 'file', path });
  return held ? `it was left by an interrupted virt-ovf run, ${describeRun(held)}: remove what that run left with virt-ovf cleanup` : 'another export, or one that was killed: remove it and retry';
}

/** The remedy for a name held by a stale run: `; it was left by an interrupted virt-ovf run (…): remove it with virt-ovf cleanup`. */
export function staleRemedy(j: StoredJournal): string {
  return `; it was left by an interrupted virt-ovf run, ${describeRun(j)}: remove what that run left with virt-ovf cleanup`;
}
