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
  INVALID_STREAM: 73,
} as const;

/** How a C result reports failure: a NULL pointer/string, or a negative int. */
export type Failure = 'null' | 'negative';

/** Anything a connection owns and must release before it closes. */
export interface Child {
  free(): void;
}

let syncDepth = 0;
let nextId = 1;
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
 * Per-connection state: the virConnectPtr, its FIFO of worker-thread calls (one in flight at a time,
 * so an error libvirt records for the connection is known to belong to that call) and its children.
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

  constructor(ptr: Ptr) {
    this.#ptr = ptr;
    contexts.set(this.id, this);
    hookConnectionErrors(ptr, this.id);
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.#ptr === null;
  }

  /** The virConnectPtr; throws LibvirtError(func, VIR_ERR_INVALID_CONN) after close(). */
  handle(func: string): Ptr {
    if (this.#ptr === null) throw new LibvirtError(func, ErrorCode.INVALID_CONN, 0, 'the connection is closed');
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

  /** Runs `func` on a koffi worker thread after earlier calls settle; rejects with LibvirtError. */
  call<T>(func: FnName, fail: Failure, ...args: unknown[]): Promise<T> {
    const conn = this.handle(func);
    return this.#enqueue(
      () =>
        new Promise<T>((resolve, reject) => {
          this.captured = null;
          native('virConnResetLastError')(conn);
          native(func).async(...args, (err: unknown, result: unknown) => {
            const captured = this.captured;
            this.captured = null;
            if (err) reject(err instanceof Error ? err : new Error(String(err)));
            else if (failed(fail, result)) reject(toError(func, captured ?? connectionLastError(conn)));
            else resolve(result as T);
          });
        }),
    );
  }

  /** Runs `fn` now if no call is in flight, else once all queued calls have settled. */
  whenIdle(fn: () => void): void {
    if (this.#pending === 0) fn();
    else void this.#enqueue(async () => fn());
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

  #enqueue<T>(run: () => Promise<T>): Promise<T> {
    this.#pending++;
    const result = this.#tail.then(run);
    const settle = (): void => {
      this.#pending--;
    };
    this.#tail = result.then(settle, settle);
    return result;
  }
}
