// Reaching libvirt during a rollback: the run's connection while it answers, else a fresh one when the daemon came back.

import { LibvirtError } from '../errors.js';
import { abandonedCalls, ErrorCode } from './call.js';
import { exitNow } from './ffi.js';
import type { Connection } from './connect.js';

/** How long a rollback waits for one libvirt call, or for a fresh connection to open, in ms. */
export const ROLLBACK_CALL_MS = 3000;

/**
 * Runs `fn` on `conn` while it answers; when libvirt closed it (`dead`: the daemon died or
 * keepalive gave up) runs it on a fresh connection to the same URI, opened within `timeoutMs`
 * and closed afterwards. Calls on either connection are given up after `timeoutMs`.
 * A `hung` connection (a call it gave up on is still unanswered) is not reopened: opening
 * would block a thread until the daemon answers.
 * @throws LibvirtError (code VIR_ERR_INVALID_CONN) when libvirt cannot be reached in time;
 *   whatever `fn` throws otherwise.
 */
export async function onAnsweringConnection<T>(conn: Connection, fn: (conn: Connection) => Promise<T>, timeoutMs = ROLLBACK_CALL_MS): Promise<T> {
  conn.setDeadline(timeoutMs);
  if (conn.health === 'alive') {
    try {
      return await fn(conn);
    } catch (err) {
      if (conn.health === 'alive') throw err;
    }
  }
  if (conn.health === 'hung') throw unreachable('it stopped answering');
  const fresh = await conn.reopenWithin(timeoutMs).catch((err: Error) => {
    throw unreachable(`the connection was lost and reconnecting failed: ${err.message}`);
  });
  fresh.setDeadline(timeoutMs);
  try {
    return await fn(fresh);
  } finally {
    fresh.close();
  }
}

/** True when `err` says libvirt could not be reached (see onAnsweringConnection). */
export function isUnreachable(err: unknown): boolean {
  return err instanceof LibvirtError && err.code === ErrorCode.INVALID_CONN;
}

function unreachable(why: string): LibvirtError {
  return new LibvirtError('rollback', ErrorCode.INVALID_CONN, 0, `libvirt cannot be reached (${why})`);
}

/**
 * When libvirt calls that were given up on are still waiting in worker threads, ends the process
 * with `code` after `graceMs` (exitNow) instead of waiting for libvirt; otherwise does nothing and
 * the process exits as usual. For the CLI, once the run has finished and reported.
 */
export function exitDespiteAbandonedCalls(code: number, graceMs = 500): void {
  if (abandonedCalls() === 0) return;
  setTimeout(() => exitNow(code), graceMs).unref();
}

/** How long an aborted run lets the libvirt call in flight finish before giving it up, in ms. */
export const ABORT_GRACE_MS = 2000;

/**
 * When `signal` aborts, gives `conn`'s call in flight ABORT_GRACE_MS to finish, then gives it up
 * (Connection.interrupt): a call that answers in time leaves the connection usable for the
 * rollback (a backup job can still be aborted, a volume deleted through libvirt); only a hung
 * daemon makes the run give up on it. Returns the function that stops watching.
 */
export function giveUpOnAbort(conn: Connection, signal: AbortSignal, graceMs = ABORT_GRACE_MS): () => void {
  let timer: NodeJS.Timeout | undefined;
  const onAbort = (): void => {
    timer = setTimeout(() => conn.interrupt(signal.reason as Error), graceMs);
    timer.unref();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  return () => {
    signal.removeEventListener('abort', onAbort);
    clearTimeout(timer);
  };
}
