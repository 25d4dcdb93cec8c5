// `virt-ovf cleanup`: removes what runs whose process is gone created, as their journals recorded
// it — each object only if it is still the one created — and nothing else.
import { rmSync, unlinkSync } from 'node:fs';
import { Connection } from '../libvirt/index.js';
import type { Reporter } from '../report.js';
import { describeObject, type JournalEntry } from './entries.js';
import { writeAtomic, type JournalFile } from './journal.js';
import { describeRun, staleJournals, staleTemporaries, type StoredJournal } from './stale.js';
import { findObject } from './undo.js';

/** Options of {@link cleanupRuns}. */
export interface CleanupOptions {
  /** List what would be removed; change nothing. */
  readonly dryRun?: boolean;
  /** Only the runs on this connection (compared by canonical URI); default: every stale run, each on its own connection. */
  readonly connect?: string;
  /** Journal directory (see journalDir). */
  readonly stateDir?: string;
}

/** What happened to one recorded object: removed, already gone, would be removed (dry run), or left alone (`why`). */
export interface CleanedObject {
  readonly kind: JournalEntry['kind'];
  readonly object: string;
  readonly outcome: 'removed' | 'gone' | 'would-remove' | 'left';
  readonly why?: string;
}

/** One stale run: its journal, process and what became of each object (newest first). */
export interface CleanedRun {
  readonly journal: string;
  readonly pid: number;
  readonly command: string;
  readonly startedAt: string;
  readonly uri: string;
  readonly objects: readonly CleanedObject[];
  /** The journal was removed: nothing it recorded is left. */
  readonly journalRemoved: boolean;
}

/** The result of cleanupRuns; `left` counts objects left alone (not the run's, or not removable). */
export interface CleanupResult {
  readonly dryRun: boolean;
  readonly runs: readonly CleanedRun[];
  readonly left: number;
}

/**
 * Removes, newest first, what each stale run (its process gone: see staleJournals) recorded:
 * children still running with their recorded start time are killed, backup jobs aborted,
 * domains (by UUID) destroyed and undefined, volumes (same pool, name, path and inode) deleted,
 * files and directories (same inode) removed. An object that is not the one recorded is left
 * alone with a warning. A journal whose objects are all gone is removed; otherwise it keeps
 * the objects left. With `dryRun` nothing changes and the objects are listed.
 * @throws LibvirtError when `connect` cannot be opened.
 */
export async function cleanupRuns(opts: CleanupOptions, reporter: Reporter): Promise<CleanupResult> {
  const conns = new Map<string, Connection | undefined>();
  let wanted: string | undefined;
  if (opts.connect !== undefined) {
    const conn = Connection.open(opts.connect);
    wanted = conn.uri();
    conns.set(wanted, conn);
  }
  const connection = (uri: string): Connection | undefined => {
    if (!conns.has(uri)) {
      try {
        conns.set(uri, Connection.open(uri));
      } catch (err) {
        reporter.emit({ kind: 'warning', message: `cannot connect to ${uri} (${(err as Error).message}); its volumes, domains and backup jobs are left recorded` });
        conns.set(uri, undefined);
      }
    }
    return conns.get(uri);
  };
  try {
    const stale = staleJournals(opts.stateDir).filter((j) => wanted === undefined || j.file.uri === wanted);
    if (stale.length === 0) reporter.emit({ kind: 'stage', message: 'No interrupted virt-ovf run left anything: nothing to clean up' });
    const runs: CleanedRun[] = [];
    for (const j of stale) runs.push(await cleanRun(j, connection, opts.dryRun === true, reporter));
    if (opts.dryRun !== true) for (const tmp of staleTemporaries(opts.stateDir)) rmSync(tmp, { force: true });
    const left = runs.reduce((n, r) => n + r.objects.filter((o) => o.outcome === 'left').length, 0);
    return { dryRun: opts.dryRun === true, runs, left };
  } finally {
    for (const c of conns.values()) c?.close();
  }
}

/** Cleans one stale run; rewrites or removes its journal unless `dryRun`. */
async function cleanRun(j: StoredJournal, connection: (uri: string) => Connection | undefined, dryRun: boolean, reporter: Reporter): Promise<CleanedRun> {
  const { file } = j;
  reporter.emit({ kind: 'stage', message: `Run ${describeRun(j)} on ${file.uri}: ${file.entries.length} object(s) recorded` });
  const needsLibvirt = file.entries.some((e) => e.kind === 'volume' || e.kind === 'domain' || e.kind === 'backup-job');
  const conn = needsLibvirt ? connection(file.uri) : undefined;
  const objects: CleanedObject[] = [];
  const kept: JournalEntry[] = [];
  for (const entry of [...file.entries].reverse()) {
    const object = describeObject(entry);
    const done = (outcome: CleanedObject['outcome'], why?: string): void => {
      objects.push({ kind: entry.kind, object, outcome, ...(why !== undefined ? { why } : {}) });
      if (outcome === 'left' || outcome === 'would-remove') kept.unshift(entry);
      const kill = entry.kind === 'process';
      const text = { removed: kill ? 'Killed' : 'Removed', gone: 'Already gone:', 'would-remove': kill ? 'Would kill' : 'Would remove', left: 'Left alone:' }[outcome];
      reporter.emit({ kind: outcome === 'left' ? 'warning' : 'stage', message: `${text} ${object}${why !== undefined ? ` (${why})` : ''}` });
    };
    try {
      const found = await findObject(entry, conn, file.process.bootId);
      if (found.state === 'gone') done('gone');
      else if (found.state === 'foreign') done('left', found.why);
      else if (dryRun) done('would-remove');
      else {
        await found.remove();
        done('removed');
      }
    } catch (err) {
      done('left', (err as Error).message);
    }
  }
  let journalRemoved = false;
  if (!dryRun) {
    if (kept.length === 0) {
      unlinkSync(j.path);
      journalRemoved = true;
    } else writeAtomic(j.path, JSON.stringify({ ...file, entries: kept } satisfies JournalFile, null, 1) + '\n');
  }
  return { journal: j.path, pid: file.process.pid, command: file.command, startedAt: file.startedAt, uri: file.uri, objects, journalRemoved };
}
