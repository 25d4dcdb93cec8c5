// All-or-nothing: an undo stack for what a run created, and SIGINT/SIGTERM turned into an abort.
import { InterruptedError } from '../errors.js';
import type { Reporter } from '../report.js';

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
 * Runs `fn` with an AbortSignal that fires on SIGINT or SIGTERM; the signal's reason is an
 * InterruptedError. Handlers are removed when `fn` settles.
 */
export async function withSignals<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => controller.abort(new InterruptedError(sig));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await fn(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
