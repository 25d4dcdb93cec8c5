// Property-based fuzzing (fast-check) of the streaming VMDK decoder's marker and table parser:
// mutated, truncated and re-chunked streams only ever end in a decoded disk or a PackageError,
// never write outside the capacity or a range twice (a sequential target: never backwards),
// and always terminate.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PackageError } from '../../src/errors.js';
import type { DiskSink } from '../../src/storage/sink.js';
import { openStreamOptimized } from '../../src/storage/vmdk-stream/index.js';
import { fcParams } from '../property/helpers.js';
import { craft, GRAIN, noise, SECTOR, text } from './vmdk-stream-helpers.js';

/** Longest a decode of these small streams may take, in milliseconds (generous: 3-byte chunks and workers starting on a loaded machine). */
const MAX_DECODE_MS = 60_000;

/**
 * A DiskSink that keeps no bytes but checks the contract the decoder owes every sink: ranges
 * inside the capacity, each byte declared once, ascending on a sequential sink, finish or
 * abort exactly once and nothing after.
 */
class ContractSink implements DiskSink {
  readonly label = 'contract checker';
  bytesWritten = 0;
  private readonly ranges: Array<[number, number]> = [];
  ended: 'finish' | 'abort' | undefined;
  constructor(readonly capacityBytes: number, readonly sequential: boolean) {}
  private take(offset: number, length: number): void {
    assert.equal(this.ended, undefined, 'a range after finish/abort');
    assert.ok(Number.isSafeInteger(offset) && length > 0 && offset >= 0 && offset + length <= this.capacityBytes, `range ${offset}+${length} outside the capacity ${this.capacityBytes}`);
    const last = this.ranges[this.ranges.length - 1];
    if (this.sequential && last) assert.ok(offset >= last[1], `range ${offset} goes back behind ${last[1]} on a sequential sink`);
    for (const [a, b] of this.ranges) assert.ok(offset >= b || offset + length <= a || !this.sequential, `range ${offset}+${length} overlaps ${a}-${b}`);
    this.ranges.push([offset, offset + length]);
  }
  async write(offset: number, data: Uint8Array): Promise<void> {
    this.take(offset, data.length);
    this.bytesWritten += data.length;
  }
  async zero(offset: number, length: number): Promise<void> {
    this.take(offset, length);
  }
  async finish(): Promise<void> {
    assert.equal(this.ended, undefined, 'finished twice');
    this.ended = 'finish';
  }
  async abort(): Promise<void> {
    this.ended ??= 'abort';
  }
}

const CAPACITY = 1030 * 128 + 9;
const BASE = craft({
  capacitySectors: CAPACITY,
  grains: [
    { lba: 0, data: text(GRAIN, 1) },
    { lba: 128, data: Buffer.alloc(GRAIN) },
    { lba: 4 * 128, data: noise(GRAIN, 2) },
    { lba: 600 * 128, data: text(GRAIN, 3) },
    { lba: 1030 * 128, data: text(9 * SECTOR, 4) },
  ],
});
/** Offsets of the structures worth hitting: header fields, descriptor, every sector start (markers). */
const HOT = [...Array(80).keys(), ...Array.from({ length: BASE.length / SECTOR }, (_, i) => i * SECTOR)];

const mutation = fc.record({
  edits: fc.array(
    fc.record({
      at: fc.oneof(fc.constantFrom(...HOT), fc.integer({ min: 0, max: BASE.length - 1 }), fc.constantFrom(...HOT).map((h) => h + 8), fc.constantFrom(...HOT).map((h) => h + 12)),
      byte: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0, 0xff, 1, 2, 3, 0x80)),
    }),
    { maxLength: 6 },
  ),
  cut: fc.option(fc.integer({ min: 0, max: BASE.length }), { freq: 3 }),
  chunk: fc.constantFrom(3, 7, 512, 4096, 65536, 1 << 20),
  sequential: fc.boolean(),
});

/** Runs one decode of `bytes` in chunks of `chunk`; returns the sink and the error, if any. */
async function decode(bytes: Buffer, chunk: number, sequential: boolean): Promise<{ sink?: ContractSink; error?: unknown }> {
  async function* chunks() {
    for (let at = 0; at < bytes.length; at += chunk) yield bytes.subarray(at, at + chunk);
  }
  let sink: ContractSink | undefined;
  try {
    const img = await openStreamOptimized(chunks(), { label: 'fuzz.vmdk' });
    assert.ok(img.capacityBytes <= 2 ** 50, 'a capacity above the size policy passed');
    sink = new ContractSink(img.capacityBytes, sequential);
    await img.decodeInto(sink, { workers: 1 });
    assert.equal(sink.ended, 'finish');
    return { sink };
  } catch (error) {
    if (sink) assert.equal(sink.ended, 'abort', 'a failed decode aborts its sink');
    return { ...(sink ? { sink } : {}), error };
  }
}

describe('streaming VMDK decoder under fuzzing', () => {
  it('the unmutated stream decodes on both kinds of sink', async () => {
    for (const sequential of [false, true]) {
      const { sink, error } = await decode(BASE, 4096, sequential);
      assert.equal(error, undefined);
      assert.equal(sink!.bytesWritten, 2 * GRAIN + GRAIN + 9 * SECTOR);
    }
  });

  it('mutated streams end in a decoded disk or a PackageError, inside the capacity, and terminate', async () => {
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(mutation, async ({ edits, cut, chunk, sequential }) => {
        const bytes = Buffer.from(BASE.subarray(0, cut ?? BASE.length));
        for (const { at, byte } of edits) if (at < bytes.length) bytes[at] = byte;
        const start = performance.now();
        const { error } = await decode(bytes, chunk, sequential);
        assert.ok(performance.now() - start < MAX_DECODE_MS, 'the decode did not terminate in time');
        if (error !== undefined) {
          if (!(error instanceof PackageError)) throw new Error(`not a PackageError: ${String(error)} (edits ${JSON.stringify(edits)}, cut ${cut})`, { cause: error });
          assert.match(error.message, /^fuzz\.vmdk: /);
          refused++;
        }
      }),
      fcParams(Number(process.env['FC_RUNS'] ?? 80), 240_000),
    );
    assert.ok(refused > 0, 'no mutation was refused: the fuzzer does not reach the checks');
  });
});
