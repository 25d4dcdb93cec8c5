// The raw copier and the raw-file sink on real files, and the decoder against a sequential
// target (grains out of order refused before anything out of order is sent) and an abort.

import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PackageError } from '../../src/errors.js';
import { fileChunks } from '../../src/storage/file-chunks.js';
import { copyRaw } from '../../src/storage/raw-copy.js';
import { RawFileSink } from '../../src/storage/raw-file-sink.js';
import type { DiskSink } from '../../src/storage/sink.js';
import { NotStreamableError, openStreamOptimized } from '../../src/storage/vmdk-stream/index.js';
import { scratchDir } from '../export/vmdk/helpers.js';
import { craft, GRAIN, noise, qemuDecode, text } from './vmdk-stream-helpers.js';

/** The real RawFileSink declared sequential: it refuses a range that goes back, as a stream would. */
class SequentialFileSink implements DiskSink {
  readonly sequential = true;
  private end = 0;
  ranges = 0;
  constructor(private readonly file: RawFileSink) {}
  get label() { return `sequential ${this.file.label}`; }
  get capacityBytes() { return this.file.capacityBytes; }
  get bytesWritten() { return this.file.bytesWritten; }
  private order(offset: number, length: number): void {
    if (offset < this.end) throw new RangeError(`range at ${offset} after ${this.end}`);
    this.end = offset + length;
    this.ranges++;
  }
  write(offset: number, data: Uint8Array) { this.order(offset, data.length); return this.file.write(offset, data); }
  zero(offset: number, length: number) { this.order(offset, length); return this.file.zero(offset, length); }
  finish() { return this.file.finish(); }
  abort() { return this.file.abort(); }
}

async function* chunksOf(b: Buffer, size: number) {
  for (let at = 0; at < b.length; at += size) yield b.subarray(at, at + size);
}

describe('copyRaw and RawFileSink', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await scratchDir()));
  after(() => cleanup());

  it('copies data, leaves all-zero blocks and the tail beyond the input as holes', async () => {
    const input = Buffer.concat([text(3 * GRAIN, 1), Buffer.alloc(40 * GRAIN), noise(GRAIN + 100, 2), Buffer.alloc(GRAIN)]);
    const out = join(dir, 'copy.raw');
    await writeFile(out, '');
    const capacity = input.length + 20 * GRAIN;
    const sink = await RawFileSink.open(out, { capacityBytes: capacity });
    const r = await copyRaw(chunksOf(input, 10_000), sink, { capacityBytes: capacity });
    assert.equal(r.bytesRead, input.length);
    assert.equal(r.dataBytes, 3 * GRAIN + 2 * GRAIN, 'zero blocks are not written (the block with the last 100 data bytes is)');
    const got = await readFile(out);
    assert.equal(got.length, capacity);
    assert.ok(got.equals(Buffer.concat([input, Buffer.alloc(20 * GRAIN)])));
    assert.ok((await stat(out)).blocks * 512 < 8 * GRAIN, 'the zero ranges stayed holes');
  });

  it('refuses an input longer than the capacity, aborting the sink and keeping the file', async () => {
    const out = join(dir, 'long.raw');
    await writeFile(out, '');
    const sink = await RawFileSink.open(out, { capacityBytes: GRAIN });
    await assert.rejects(copyRaw(chunksOf(text(GRAIN + 1, 3), 4096), sink, { capacityBytes: GRAIN, label: 'disk1.img' }), (e: unknown) => e instanceof PackageError && /disk1\.img: holds more than the disk's capacity of 65536 bytes/.test(e.message));
    assert.ok((await stat(out)).isFile());
  });

  it('writes zeros for zero() on a target that is not known to read as zeros, and refuses a range outside', async () => {
    const out = join(dir, 'used.raw');
    await writeFile(out, Buffer.alloc(4 * GRAIN, 0xff));
    const sink = await RawFileSink.open(out, { capacityBytes: 4 * GRAIN, zeroedTarget: false });
    await sink.zero(GRAIN, 2 * GRAIN);
    await assert.rejects(sink.write(4 * GRAIN - 1, Buffer.alloc(2)), RangeError);
    await sink.finish();
    const got = await readFile(out);
    assert.ok(got.subarray(GRAIN, 3 * GRAIN).equals(Buffer.alloc(2 * GRAIN)));
    assert.ok(got.subarray(0, GRAIN).equals(Buffer.alloc(GRAIN, 0xff)) && got.subarray(3 * GRAIN).equals(Buffer.alloc(GRAIN, 0xff)));
  });
});

describe('decoder targets', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await scratchDir()));
  after(() => cleanup());
  const capacitySectors = 700 * 128;
  const backwards = craft({ capacitySectors, grains: [{ lba: 10 * 128, data: text(GRAIN, 1) }, { lba: 600 * 128, data: noise(GRAIN, 2) }, { lba: 3 * 128, data: text(GRAIN, 3) }] });

  it('a sequential target gets ascending ranges only: grains that go back are refused before they are sent', async () => {
    const out = join(dir, 'seq.raw');
    await writeFile(out, '');
    const img = await openStreamOptimized(chunksOf(backwards, 4096), { label: 'back.vmdk' });
    const sink = new SequentialFileSink(await RawFileSink.open(out, { capacityBytes: img.capacityBytes }));
    await assert.rejects(img.decodeInto(sink), (e: unknown) => e instanceof NotStreamableError && /back\.vmdk: the grain at byte \d+ \(LBA 384\) comes after the grain of LBA 76800; the target is written in order/.test(e.message));
  });

  it('a non-sequential target takes the same grains in stream order and equals qemu-img', async () => {
    const vmdk = join(dir, 'back.vmdk');
    await writeFile(vmdk, backwards);
    const out = join(dir, 'any.raw');
    await writeFile(out, '');
    const img = await openStreamOptimized(fileChunks(vmdk), { label: 'back.vmdk' });
    const r = await img.decodeInto(await RawFileSink.open(out, { capacityBytes: img.capacityBytes }));
    assert.equal(r.grains, 3);
    const q = await qemuDecode(vmdk, join(dir, 'q.raw'));
    assert.ok(q.ok && (await readFile(out)).equals(q.raw));
  });

  it('an abort rejects with the signal\'s reason and aborts the sink', async () => {
    const img = await openStreamOptimized(chunksOf(backwards, 512), { label: 'a.vmdk' });
    const ac = new AbortController();
    ac.abort(new Error('stop here'));
    let aborted = false;
    const out = join(dir, 'ab.raw');
    await writeFile(out, '');
    const file = await RawFileSink.open(out, { capacityBytes: img.capacityBytes });
    const sink: DiskSink = Object.assign(Object.create(file) as RawFileSink, { abort: async () => { aborted = true; await file.abort(); } });
    await assert.rejects(img.decodeInto(sink, { signal: ac.signal }), /stop here/);
    assert.ok(aborted);
  });
});
