// Calling libvirt: synchronous calls read the thread's error, async calls run serialised per connection.

import { LibvirtError } from '../errors.js';
import {
  connectionLastError,
  hookConnectionErrors,
  native,
  setErrorListener,
  threadLastError,
  type ErrorInfo,
  type FnName,
  type Ptr,
} from './ffi.js';

/** virErrorNumber values that the binding tests for or raises itself. */
export const ErrorCode = {
  INTERNAL_ERROR: 1,
  INVALID_CONN: 6,
  INVALID_DOMAIN: 7,
  INVALID_ARG: 8,
  XML_ERROR: 27,
  XML_DETAIL: 35,
  INVALID_NETWORK: 36,
  NO_DOMAIN: 42,
  NO_NETWORK: 43,
  INVALID_STORAGE_POOL: 46,
  INVALID_STORAGE_VOL: 47,
  NO_STORAGE_POOL: 49,
  NO_STORAGE_VOL: 50,
  OPERATION_INVALID: 55,
  INVALID_SECRET: 65,
  NO_SECRET: 66,
  INVALID_STREAM: 73,
} as const;

/** How a C result reports failure: a NULL pointer/string, a negative int, or exactly -1 (other negative values are answers, e.g. virStreamRecvFlags' -3 for a hole). */
export type Failure = 'null' | 'negative' | 'minus-one';

/** Anything a connection owns and must release before it closes. */
export interface Child {
  free(): void;
}

let syncDepth = 0;
let nextId = 1;
let unsettled = 0;

/** Worker-thread calls given up on (interrupt, deadline, openWithin) that libvirt has not answered yet. */
export function abandonedCalls(): number {
  return unsettled;
}

/** Counts a call given up on until `settled` runs (see abandonedCalls). */
export function trackAbandoned(): () => void {
  unsettled++;
  let done = false;
  return () => {
    if (!done) unsettled--;
    done = true;
  };
}
const contexts = new Map<number, ConnContext>();

// Errors reach the handler inline for synchronous calls (ignored: virGetLastError reads them) and
// relayed to the main thread, before the worker's call returns, for async calls.
setErrorListener((id, error) => {
  if (syncDepth > 0 || id === null) return;
  const ctx = contexts.get(id);
  if (ctx) ctx.captured = error;
});

function failed(kind: Failure, result: unknown): boolean {
  if (kind === 'null') return result === null || result === undefined;
  if (kind === 'minus-one') return typeof result !== 'number' || result === -1;
  return typeof result !== 'number' || result < 0;
}

/** Builds the LibvirtError for a failed call of `func` from the captured virError (or a generic one). */
export function toError(func: string, info: ErrorInfo | null): LibvirtError {
  if (info === null) return new LibvirtError(func, ErrorCode.INTERNAL_ERROR, 0, 'unknown libvirt error');
  return new LibvirtError(func, info.code, info.domain, info.message || `libvirt error code ${info.code}`);
}

/** Calls `func` on this thread; on failure throws LibvirtError built from virGetLastError. */
export function callSync<T>(func: FnName, fail: Failure, ...args: unknown[]): T {
  syncDepth++;
  let result: unknown;
  try {
    result = native(func)(...args);
  } finally {
    syncDepth--;
  }
  if (failed(fail, result)) throw toError(func, threadLastError());
  return result as T;
}

/** Like callSync for a lookup, but returns null instead of throwing when the error code is `notFound`. */
export function lookupSync(func: FnName, notFound: number, ...args: unknown[]): Ptr | null {
  try {
    return callSync<Ptr>(func, 'null', ...args);
  } catch (err) {
    if (err instanceof LibvirtError && err.code === notFound) return null;
    throw err;
  }
}

/**
 * How a connection answers: `hung` once a call was given up on or keepalive found the daemon
 * silent (for the rest of the run: a daemon that stopped answering is not reopened), `dead` once
 * libvirt closed it otherwise (the daemon exited).
 */
export type ConnHealth = 'alive' | 'hung' | 'dead';

/** A queued or running call: the caller's reject, and whether the caller gave up on it. */
interface Waiter {
  readonly func: string;
  readonly reject: (err: Error) => void;
  abandoned: boolean;
  /** Set when the caller gave up while libvirt had the call: ends its count in abandonedCalls(). */
  settled?: () => void;
}

/**
 * Per-connection state: the virConnectPtr, its FIFO of worker-thread calls (one in flight at a time,
 * so an error libvirt records for the connection is known to belong to that call) and its children.
 * A caller can give up on its calls (interrupt(), or a deadline): the promise rejects at once while
 * the worker thread keeps waiting for libvirt; until that call returns the connection is `hung`
 * and refuses new calls instead of blocking behind it.
 */
export class ConnContext {
  /** Key passed to libvirt as the error handler's userData. */
  readonly id = nextId++;
  /** Error relayed by the handler for the call in flight. */
  captured: ErrorInfo | null = null;
  #ptr: Ptr | null;
  #tail: Promise<void> = Promise.resolve();
  #pending = 0;
  readonly #children = new Set<Child>();
  readonly #waiters = new Set<Waiter>();
  #running: Waiter | null = null;
  #dead = false;
  #unanswered = false;
  #deadlineMs: number | undefined;

  constructor(ptr: Ptr) {
    this.#ptr = ptr;
    contexts.set(this.id, this);
    hookConnectionErrors(ptr, this.id);
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.#ptr === null;
  }

  /** Whether the daemon answers: see ConnHealth. */
  get health(): ConnHealth {
    if (this.#unanswered) return 'hung';
    // With no call in flight, virConnectIsAlive only reads the client's state (the event loop saw the socket close).
    if (!this.#dead && this.#running === null && this.#ptr !== null && native('virConnectIsAlive')(this.#ptr) === 0) this.#dead = true;
    return this.#dead ? 'dead' : 'alive';
  }

  /**
   * The virConnectPtr; throws LibvirtError(func, VIR_ERR_INVALID_CONN) after close(), when libvirt
   * closed the connection, or while it is hung (a synchronous call would block behind the
   * unanswered one).
   */
  handle(func: string): Ptr {
    if (this.#ptr === null) throw new LibvirtError(func, ErrorCode.INVALID_CONN, 0, 'the connection is closed');
    const health = this.health;
    if (health === 'dead') throw new LibvirtError(func, ErrorCode.INVALID_CONN, 0, 'the connection to libvirt was lost');
    if (health === 'hung') throw new LibvirtError(func, ErrorCode.INVALID_CONN, 0, 'libvirt stopped answering on this connection');
    return this.#ptr;
  }

  /** Registers an object to free when the connection closes (at once if it is already closed). */
  adopt(child: Child): void {
    this.#children.add(child);
    if (this.#ptr === null) child.free();
  }

  /** Forgets an object freed by its owner. */
  release(child: Child): void {
    this.#children.delete(child);
  }

  /**
   * Gives up on every call queued or in flight: each rejects at once with `reason`. A call
   * already in libvirt keeps its worker thread until libvirt answers (or keepalive closes the
   * connection); meanwhile the connection is `hung`.
   */
  interrupt(reason: Error): void {
    for (const waiter of [...this.#waiters]) this.#abandon(waiter, reason);
  }

  /** From now on, a call not answered within `ms` milliseconds is given up (as by interrupt()); undefined: no deadline. */
  setDeadline(ms: number | undefined): void {
    this.#deadlineMs = ms;
  }

  /** Runs `func` on a koffi worker thread after earlier calls settle; rejects with LibvirtError. */
  call<T>(func: FnName, fail: Failure, ...args: unknown[]): Promise<T> {
    const conn = this.handle(func);
    return this.#enqueue(
      func,
      () =>
        new Promise<T>((resolve, reject) => {
          this.captured = null;
          native('virConnResetLastError')(conn);
          native(func).async(...args, (err: unknown, result: unknown) => {
            const captured = this.captured;
            this.captured = null;
            if (err) return reject(err instanceof Error ? err : new Error(String(err)));
            if (!failed(fail, result)) return resolve(result as T);
            const error = toError(func, captured ?? connectionLastError(conn));
            if (native('virConnectIsAlive')(conn) === 0) this.#dead = true;
            if (/keepalive/i.test(error.message)) this.#unanswered = true;
            reject(error);
          });
        }),
    );
  }

  /** Runs `fn` now if no call is in flight, else once all queued calls have settled. */
  whenIdle(fn: () => void): void {
    if (this.#pending === 0) fn();
    else void this.#tail.then(fn);
  }

  /** Frees every child, then closes the connection (virConnectClose) once the queue drains. */
  close(): void {
    const ptr = this.#ptr;
    if (ptr === null) return;
    for (const child of [...this.#children]) child.free();
    this.#ptr = null;
    this.whenIdle(() => {
      contexts.delete(this.id);
      try {
        callSync('virConnectClose', 'negative', ptr);
      } catch {
        // Nothing useful to do: the handle is gone either way.
      }
    });
  }

  #abandon(waiter: Waiter, reason: Error): void {
    if (waiter.abandoned) return;
    waiter.abandoned = true;
    this.#waiters.delete(waiter);
    if (waiter === this.#running) {
      this.#unanswered = true;
      waiter.settled = trackAbandoned();
    }
    waiter.reject(reason);
  }

  /** Queues `run`; the returned promise settles with it, or earlier when the caller gives up. */
  #enqueue<T>(func: string, run: () => Promise<T>): Promise<T> {
    this.#pending++;
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = { func, reject, abandoned: false };
      this.#waiters.add(waiter);
      const turn = async (): Promise<void> => {
        if (waiter.abandoned) return;
        this.#running = waiter;
        const ms = this.#deadlineMs;
        const timer = ms === undefined ? undefined : setTimeout(() => this.#abandon(waiter, new LibvirtError(func, ErrorCode.INVALID_CONN, 0, `libvirt did not answer within ${ms / 1000} s`)), ms);
        try {
          resolve(await run());
        } catch (err) {
          reject(err as Error);
        } finally {
          clearTimeout(timer);
          waiter.settled?.();
          this.#running = null;
          this.#waiters.delete(waiter);
        }
      };
      this.#tail = this.#tail.then(turn).finally(() => {
        this.#pending--;
      });
    });
  }
}
