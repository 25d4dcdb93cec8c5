// Explicit garbage-collection hints for the VMDK writer. Every batch of grains leaves about
// 1 MiB of dead ArrayBuffers behind (zlib output in the workers, grain records on the main
// thread); V8 frees ArrayBuffers only once some 64 MiB of them have piled up per isolate, which
// would put the peak RSS far above what the writer actually holds. A collection requested now
// and then keeps the RSS near the live data (about 120 MiB with two workers instead of 170).

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** The `gc` function of V8's --expose-gc, with the options V8 11+ accepts. */
type GcFunction = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => void;

/**
 * Source text that evaluates, in a worker, to a young-generation collection function, or to
 * undefined where the runtime refuses to expose one (worker execArgv cannot carry V8 flags).
 */
export const WORKER_MINOR_GC_SOURCE = `(() => { try { require('node:v8').setFlagsFromString('--expose-gc'); const gc = require('node:vm').runInNewContext('gc'); return typeof gc === 'function' ? () => gc({ type: 'minor' }) : undefined; } catch { return undefined; } })()`;

let cached: GcFunction | null | undefined;

/**
 * V8's `gc` function, obtained by turning --expose-gc on at run time (the flag is process-wide
 * and only adds a `gc` global to contexts created afterwards), or undefined when refused.
 */
function exposedGc(): GcFunction | undefined {
  if (cached === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      const gc: unknown = runInNewContext('gc');
      cached = typeof gc === 'function' ? (gc as GcFunction) : null;
    } catch {
      cached = null;
    }
  }
  return cached ?? undefined;
}

/**
 * A function to call with the number of bytes the main thread has let go of; every `everyBytes`
 * bytes it asks V8 for a full collection, run incrementally (it does not block the event loop).
 * A no-op where the runtime does not expose `gc`.
 */
export function collectEvery(everyBytes: number): (releasedBytes: number) => void {
  const gc = exposedGc();
  if (!gc) return () => undefined;
  let pending = 0;
  return (releasedBytes) => {
    pending += releasedBytes;
    if (pending < everyBytes) return;
    pending = 0;
    gc({ type: 'major', execution: 'async' });
  };
}
