// Base class of the libvirt object wrappers: owns one pointer and frees it exactly once.

import { LibvirtError } from '../errors.js';
import { callSync, type Child, type ConnContext, type ConnHealth } from './call.js';
import type { FnName, Ptr } from './ffi.js';

/**
 * A wrapper around one libvirt object reference (virDomainPtr, virStoragePoolPtr, ...).
 * The reference is released by free(), or by Connection.close() for objects still alive then.
 */
export abstract class NativeHandle implements Child {
  /** The connection this object belongs to (internal). */
  protected readonly ctx: ConnContext;
  #ptr: Ptr | null;
  readonly #freeFn: FnName;
  readonly #invalidCode: number;

  protected constructor(ctx: ConnContext, ptr: Ptr, freeFn: FnName, invalidCode: number) {
    this.ctx = ctx;
    this.#ptr = ptr;
    this.#freeFn = freeFn;
    this.#invalidCode = invalidCode;
    ctx.adopt(this);
  }

  /** Whether the object's connection answers (see Connection.health). */
  get health(): ConnHealth {
    return this.ctx.health;
  }

  /** True once free() was called (directly or by Connection.close()). */
  get freed(): boolean {
    return this.#ptr === null;
  }

  /**
   * The raw pointer for a call of `func`; throws LibvirtError(func, VIR_ERR_INVALID_*) once freed,
   * and LibvirtError(func, VIR_ERR_INVALID_CONN) when the connection is closed, lost or hung
   * (ConnContext.handle), rather than block on it.
   */
  protected handle(func: string): Ptr {
    if (this.#ptr === null) {
      throw new LibvirtError(func, this.#invalidCode, 0, `the ${this.constructor.name} object was already freed`);
    }
    this.ctx.handle(func);
    return this.#ptr;
  }

  /** Hook for subclasses that must do something (virStreamAbort) before the reference goes. */
  protected beforeFree(_ptr: Ptr): void {}

  /**
   * Releases the libvirt reference (virDomainFree, virStoragePoolFree, ...). Idempotent; if
   * calls on the connection are still in flight the release waits for them. Never throws.
   */
  free(): void {
    const ptr = this.#ptr;
    if (ptr === null) return;
    this.#ptr = null;
    this.ctx.release(this);
    this.ctx.whenIdle(() => {
      try {
        this.beforeFree(ptr);
      } catch {
        // Best effort: the reference is released below regardless.
      }
      try {
        callSync(this.#freeFn, 'negative', ptr);
      } catch {
        // A failed release leaves nothing to recover; the object is unusable either way.
      }
    });
  }
}
