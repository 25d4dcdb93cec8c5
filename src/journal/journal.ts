// The run journal: before a run creates anything it records it here, atomically and durably, so
// that `virt-ovf cleanup` can remove what a killed run left. Commit removes the journal.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UsageError } from '../errors.js';
import { describeObject, type FileIdentity, type JournalEntry, type JournalObject } from './entries.js';
import { identityOf, type ProcessIdentity } from './process-identity.js';
import { journalDir } from './state-dir.js';

/** Version of the journal file format. */
export const JOURNAL_VERSION = 1;

/** A journal file's content. */
export interface JournalFile {
  readonly version: number;
  /** The run's process, told apart from a later process with the same pid. */
  readonly process: ProcessIdentity;
  /** The canonical connection URI (virConnectGetURI) the run's libvirt objects belong to. */
  readonly uri: string;
  /** What ran: `import SOURCE`, `export DOMAIN`. */
  readonly command: string;
  /** ISO 8601 time the run started. */
  readonly startedAt: string;
  readonly entries: readonly JournalEntry[];
}

/** Journals open in this process; objects created deep inside a run (temporary copies, children, `.part` files) are recorded in each. */
const active = new Set<RunJournal>();

/** The journals of the run whose async context this is, when runs share the process (a batch import). */
const runScope = new AsyncLocalStorage<Set<RunJournal>>();

/**
 * Runs `fn` as one run among others in this process (one package of a batch import): the
 * journals it starts receive only what is made in its own async context, and its objects are
 * never recorded in another run's journal (which would keep that journal after its rollback).
 */
export function inRunScope<T>(fn: () => Promise<T>): Promise<T> {
  return runScope.run(new Set(), fn);
}

/** fsync(2) of a directory, so a rename or unlink in it is durable. */
function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes `content` to `path` atomically: a temporary file in the same directory, fsync, rename(2), fsync of the directory. */
export function writeAtomic(path: string, content: string): void {
  const tmp = `${path}.tmp-${randomBytes(4).toString('hex')}`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  syncDir(dirname(path));
}

/** The journal of one run. Every method writes the file at once (synchronously) before returning. */
export class RunJournal {
  readonly #entries: JournalEntry[] = [];
  #nextId = 1;
  #open = true;

  private constructor(
    /** The journal file. */
    readonly path: string,
    private readonly header: Omit<JournalFile, 'entries'>,
  ) {}

  /**
   * Starts the journal of this run in `journalDir(stateDir)` (created, mode 0700): a file
   * `PID-STARTTIME-RANDOM.json` holding the process identity, `uri` and `command`.
   * @throws UsageError (option `stateDir`) when the directory cannot be created or written.
   */
  static start(opts: { uri: string; command: string; stateDir?: string }): RunJournal {
    const dir = journalDir(opts.stateDir);
    const self = identityOf(process.pid)!;
    const path = join(dir, `${self.pid}-${self.startTime}-${randomBytes(4).toString('hex')}.json`);
    const journal = new RunJournal(path, { version: JOURNAL_VERSION, process: self, uri: opts.uri, command: opts.command, startedAt: new Date().toISOString() });
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      journal.flush();
    } catch (err) {
      throw new UsageError(`cannot write the run journal in ${dir}: ${(err as Error).message}; choose another state directory`, { option: 'stateDir', cause: err });
    }
    active.add(journal);
    runScope.getStore()?.add(journal);
    return journal;
  }

  /** The entries recorded and not yet forgotten, in order. */
  get entries(): readonly JournalEntry[] {
    return this.#entries;
  }

  /** Records `object` before it is created; returns the entry's id. */
  record(object: JournalObject): number {
    const entry = { ...object, id: this.#nextId++, recordedAt: Date.now(), state: 'pending' } as JournalEntry;
    this.#entries.push(entry);
    this.flush();
    return entry.id;
  }

  /** Marks entry `id` as created, with the file identity that tells it apart later (when a file). */
  created(id: number, identity?: FileIdentity): void {
    const i = this.#entries.findIndex((e) => e.id === id);
    if (i < 0) return;
    this.#entries[i] = { ...this.#entries[i]!, state: 'created', ...(identity ? { identity: { dev: identity.dev, ino: identity.ino } } : {}) };
    this.flush();
  }

  /** Drops entry `id`: the object is gone (removed, moved into place, or never made). */
  forget(id: number): void {
    const i = this.#entries.findIndex((e) => e.id === id);
    if (i < 0) return;
    this.#entries.splice(i, 1);
    this.flush();
  }

  /** After a failed run: what stays recorded for `virt-ovf cleanup` (a warning's text), or undefined when nothing does. */
  keptMessage(): string | undefined {
    if (this.#entries.length === 0) return undefined;
    return `${this.#entries.map(describeObject).join(', ')}: recorded for virt-ovf cleanup (${this.path})`;
  }

  /** The run succeeded: the journal is removed, and what it recorded is kept. */
  commit(): void {
    this.#entries.length = 0;
    this.close();
  }

  /**
   * Ends the journal after a rollback: removed when no entry is left, else kept for
   * `virt-ovf cleanup` (the entries whose undo failed).
   */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    active.delete(this);
    runScope.getStore()?.delete(this);
    if (this.#entries.length > 0) return;
    try {
      unlinkSync(this.path);
      syncDir(dirname(this.path));
    } catch {
      // already gone
    }
  }

  private flush(): void {
    if (!this.#open) return;
    writeAtomic(this.path, JSON.stringify({ ...this.header, entries: this.#entries } satisfies JournalFile, null, 1) + '\n');
  }
}

/** Something recorded in every open journal of this process: mark it created, or forget it. */
export interface Ticket {
  created(identity?: FileIdentity): void;
  forget(): void;
}

/**
 * Records `object` in the journals of the run under way: those started in this async context
 * (inRunScope), else every journal open in this process. For objects made below the drivers
 * (temporary copies, child processes, `.part` files), which do not see the run.
 */
export function recordInActive(object: JournalObject): Ticket {
  const ids = [...(runScope.getStore() ?? active)].map((j) => [j, j.record(object)] as const);
  return {
    created: (identity) => ids.forEach(([j, id]) => j.created(id, identity)),
    forget: () => ids.forEach(([j, id]) => j.forget(id)),
  };
}
