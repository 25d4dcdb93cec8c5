// All-or-nothing: an undo stack for what a run created, and the abort signal of a run (the caller's, and SIGINT/SIGTERM when asked).
import { InterruptedError } from './errors.js';
import { onBrokenPipe } from './pipes.js';
import type { FileIdentity, JournalObject } from './journal/entries.js';
import type { RunJournal } from './journal/journal.js';
import type { Reporter } from './report.js';

/** One undo action: what it removes, how, and its journal entry when the run keeps a journal. */
interface UndoAction {
  readonly label: string;
  readonly undo: () => Promise<void> | void;
  readonly entry?: number;
}

/**
 * Undo actions for everything this run created, run last-first on failure. With a run journal
 * (src/journal), each object is recorded durably before it is created ({@link record}), so what
 * a killed run made is known to `virt-ovf cleanup`; an undo that fails leaves its entry there.
 */
export class Rollback {
  private readonly actions: UndoAction[] = [];

  /** @param journal the run's journal; without one, nothing outlives the process. */
  constructor(readonly journal?: RunJournal) {}

  /**
   * Records `object` in the journal (written and fsynced) before the caller creates it.
   * @returns the entry to pass to {@link created} and {@link add} (or {@link dropped} when creation failed); undefined without a journal.
   */
  record(object: JournalObject): number | undefined {
    return this.journal?.record(object);
  }

  /** The recorded object now exists; `identity` (st_dev, st_ino) tells a file apart later. */
  created(entry: number | undefined, identity?: FileIdentity): void {
    if (entry !== undefined) this.journal?.created(entry, identity);
  }

  /** Creating the recorded object failed and left nothing: its entry goes. */
  dropped(entry: number | undefined): void {
    if (entry !== undefined) this.journal?.forget(entry);
  }

  /** Registers how to remove something just created, with its journal entry (see {@link record}). */
  add(label: string, undo: () => Promise<void> | void, entry?: number): void {
    this.actions.push({ label, undo, ...(entry !== undefined ? { entry } : {}) });
  }

  /** Forgets every action and removes the journal: the run succeeded and keeps what it made. */
  commit(): void {
    this.actions.length = 0;
    this.journal?.commit();
  }

  /**
   * Runs every undo action, newest first; a failing action is reported and the rest still run.
   * An undone object leaves the journal; one whose undo threw stays in it (the warning says
   * `recorded for virt-ovf cleanup`), and the journal file is kept only then.
   */
  async run(reporter: Reporter): Promise<void> {
    while (this.actions.length > 0) {
      const { label, undo, entry } = this.actions.pop()!;
      try {
        await undo();
        if (entry !== undefined) this.journal?.forget(entry);
        reporter.emit({ kind: 'stage', message: `Rolled back: ${label}` });
      } catch (err) {
        const kept = this.journal !== undefined && entry !== undefined ? `; recorded for virt-ovf cleanup (${this.journal.path})` : '';
        reporter.emit({ kind: 'warning', message: `rollback of ${label} failed: ${(err as Error).message}${kept}` });
      }
    }
    const left = this.journal?.keptMessage();
    if (left !== undefined) reporter.emit({ kind: 'warning', message: `not removed: ${left}` });
    this.journal?.close();
  }
}

/**
 * Runs `fn` with an AbortSignal that fires when `opts.signal` does and, with `handleSignals`, on
 * SIGINT or SIGTERM, or when stdout/stderr is a closed pipe (EPIPE, see pipes.ts: reason
 * InterruptedError('SIGPIPE')); the reason is an InterruptedError. Process handlers are
 * installed only when asked and removed when `fn` settles.
 */
export async function withAbort<T>(opts: { signal?: AbortSignal; handleSignals?: boolean }, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, controller.signal]) : controller.signal;
  if (!opts.handleSignals) return fn(signal);
  const onSignal = (sig: NodeJS.Signals) => controller.abort(new InterruptedError(sig));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const offPipe = onBrokenPipe(() => controller.abort(new InterruptedError('SIGPIPE')));
  try {
    return await fn(signal);
  } finally {
    offPipe();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Runs `fn` with an AbortSignal that fires on SIGINT or SIGTERM (for commands; see withAbort). */
export function withSignals<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  return withAbort({ handleSignals: true }, fn);
}

/**
 * Runs `main` and `side` together (a disk conversion and the manifest check over the same
 * package): the first to fail aborts the other. Resolves with main's value once both succeed.
 * @throws the first failure (the signal's reason when `signal` aborted them).
 */
export async function alongside<T>(signal: AbortSignal, main: (signal: AbortSignal) => Promise<T>, side: (signal: AbortSignal) => Promise<void>): Promise<T> {
  const failed = new AbortController();
  const both = AbortSignal.any([signal, failed.signal]);
  const stopOthers = (err: unknown): never => {
    if (!failed.signal.aborted) failed.abort(err);
    throw err;
  };
  const [value] = await Promise.allSettled([main(both).catch(stopOthers), side(both).catch(stopOthers)]);
  if (both.aborted) throw both.reason;
  return (value as PromiseFulfilledResult<T>).value;
}
