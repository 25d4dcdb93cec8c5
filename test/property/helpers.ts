// Shared checks for the property-based tests: typed errors only, time and heap bounds, and
// no pollution of the built-in prototypes.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { VirtOvfError } from '../../src/errors.js';

/** Longest time one parse may take, in milliseconds ("refused within a second"). */
export const MAX_RUN_MS = 1000;

/** Heap growth allowed over a whole property run, after garbage collection, in bytes. */
export const MAX_HEAP_GROWTH = 64 * 1024 * 1024;

/** Heap growth allowed at any sampled point of a run (no collection forced), in bytes. */
export const MAX_HEAP_PEAK = 512 * 1024 * 1024;

/** The project root: the first directory above this file holding package.json (from test/ or dist/test/). */
export const PROJECT_ROOT = ((): string => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
})();

setFlagsFromString('--expose-gc');
/** The collector, reached through a fresh context once --expose-gc is set. */
const collect = runInNewContext('gc') as () => void;

/** Heap in use after a full collection, in bytes. */
export function settledHeap(): number {
  collect();
  collect();
  return getHeapStatistics().used_heap_size;
}

/** Own property names of the prototypes parsers could pollute, to compare before and after. */
function prototypeSnapshot(): string {
  return [Object.prototype, Array.prototype, Function.prototype, String.prototype]
    .map((p) => Reflect.ownKeys(p).map(String).sort().join(','))
    .join('|');
}

const cleanPrototypes = prototypeSnapshot();

/** Asserts that no parse added properties to Object/Array/Function/String prototypes. */
export function assertNotPolluted(): void {
  const probe = {} as Record<string, unknown>;
  for (const key of ['polluted', 'x', 'isAdmin', 'length2', 'ovf', '#text', ':@']) assert.equal(probe[key], undefined, `Object.prototype.${key} was set`);
  assert.equal(prototypeSnapshot(), cleanPrototypes, 'a built-in prototype gained or lost a property');
}

/**
 * Runs `fn` and checks its outcome: a value, or a thrown VirtOvfError (anything else is
 * rethrown, wrapped with the input for the report). Also checks time and pollution.
 * @returns the value, or the VirtOvfError thrown.
 */
export function typedOutcome<T>(fn: () => T, input: unknown): T | VirtOvfError {
  const start = performance.now();
  let result: T | VirtOvfError;
  try {
    result = fn();
  } catch (err) {
    if (!(err instanceof VirtOvfError)) throw new Error(`non-VirtOvfError ${(err as Error)?.name}: ${(err as Error)?.message} for input ${describe(input)}`, { cause: err });
    result = err;
  }
  const ms = performance.now() - start;
  assert.ok(ms < MAX_RUN_MS, `took ${ms.toFixed(0)} ms for input ${describe(input)}`);
  assertNotPolluted();
  return result;
}

/** Async version of {@link typedOutcome}. */
export async function typedOutcomeAsync<T>(fn: () => Promise<T>, input: unknown): Promise<T | VirtOvfError> {
  const start = performance.now();
  let result: T | VirtOvfError;
  try {
    result = await fn();
  } catch (err) {
    if (!(err instanceof VirtOvfError)) throw new Error(`non-VirtOvfError ${(err as Error)?.name}: ${(err as Error)?.message} for input ${describe(input)}`, { cause: err });
    result = err;
  }
  const ms = performance.now() - start;
  assert.ok(ms < MAX_RUN_MS, `took ${ms.toFixed(0)} ms for input ${describe(input)}`);
  assertNotPolluted();
  return result;
}

/** A short printable form of an input for failure messages. */
export function describe(input: unknown): string {
  const text = typeof input === 'string' ? input : Buffer.isBuffer(input) ? `<${input.length} bytes>` : JSON.stringify(input);
  return JSON.stringify(text.length > 400 ? `${text.slice(0, 400)}... (${text.length} chars)` : text);
}

/**
 * Tracks heap use over a property run: call `sample()` from the predicate now and then,
 * then `check()` at the end to assert bounded growth (settled) and a bounded peak.
 */
export class HeapWatch {
  private readonly start = settledHeap();
  private peak = 0;
  private calls = 0;

  sample(): void {
    if (++this.calls % 25 === 0) this.peak = Math.max(this.peak, getHeapStatistics().used_heap_size);
  }

  check(label: string): void {
    const end = settledHeap();
    assert.ok(end - this.start < MAX_HEAP_GROWTH, `${label}: heap grew by ${((end - this.start) / 2 ** 20).toFixed(1)} MiB`);
    assert.ok(this.peak - this.start < MAX_HEAP_PEAK, `${label}: heap peaked ${((this.peak - this.start) / 2 ** 20).toFixed(1)} MiB above the start`);
  }
}

/** fast-check parameters shared by the suites: a fixed seed unless FC_SEED is set, and a time cap. */
export function fcParams(numRuns: number, timeLimitMs: number): { numRuns: number; seed: number; interruptAfterTimeLimit: number; markInterruptAsFailure: boolean } {
  const seed = process.env['FC_SEED'] !== undefined ? Number(process.env['FC_SEED']) : 4242;
  return { numRuns, seed, interruptAfterTimeLimit: timeLimitMs, markInterruptAsFailure: false };
}
