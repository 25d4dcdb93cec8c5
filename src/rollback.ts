// All-or-nothing: an undo stack for what a run created, and the abort signal of a run (the caller's, and SIGINT/SIGTERM when asked).
import { InterruptedError } from './errors.js';
import { onBrokenPipe } from './pipes.js';
import type { Reporter } from './report.js';

/** Undo actions for everything this run created, run last-first on failure. */
export class Rollback {
  private readonly actions: { label: string; undo: () => Promise<void> | void }[] = [];

  /** Registers how to remove something just created. */
  add(label: string, undo: () => Promise<void> | void): void {
    this.actions.push({ label, undo });
  }

  /** Forgets every action: the run succeeded and keeps what it made. */
  commit(): void {
    this.actions.length = 0;
  }

  /** Runs every undo action, newest first; a failing action is reported and the rest still run. */
  async run(reporter: Reporter): Promise<void> {
    while (this.actions.length > 0) {
      const { label, undo } = this.actions.pop()!;
      try {
        await undo();
        reporter.emit({ kind: 'stage', message: `Rolled back: ${label}` });
      } catch (err) {
        reporter.emit({ kind: 'warning', message: `rollback of ${label} failed: ${(err as Error).message}` });
      }
    }
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
