// Shared by the qcow2-stream tests: a guest layout encoded into a local file through the file
// uploader, the same guest bytes in a sparse raw file, and qemu-img's verdict on both.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { open } from 'node:fs/promises';
import { promisify } from 'node:util';
import { fileUploader, Qcow2StreamSink, type Qcow2StreamResult } from '../../src/storage/qcow2-stream/index.js';
import { systemQemuImg } from './qemu-img-log.js';

const run = promisify(execFile);

/** One range of a guest layout: data (the bytes) or a declared zero range. */
export type Range = { offset: number; data: Uint8Array } | { offset: number; zero: number };

/** Feeds `ranges` (ascending) into a Qcow2StreamSink writing `path`, and the same guest bytes into the raw file `rawPath`. */
export async function encode(path: string, rawPath: string, capacityBytes: number, ranges: readonly Range[], chunkBytes?: number): Promise<Qcow2StreamResult> {
  const fh = await open(path, 'wx');
  const raw = await open(rawPath, 'wx');
  try {
    await raw.truncate(capacityBytes);
    const sink = new Qcow2StreamSink({ capacityBytes, uploader: fileUploader(fh), label: path, ...(chunkBytes ? { chunkBytes } : {}) });
    for (const r of ranges) {
      if ('data' in r) {
        await sink.write(r.offset, r.data);
        await raw.write(r.data, 0, r.data.length, r.offset);
      } else await sink.zero(r.offset, r.zero);
    }
    await sink.finish();
    assert.ok(sink.result);
    return sink.result;
  } finally {
    await fh.close();
    await raw.close();
  }
}

/** `qemu-img check --output=json`: the counts of errors and leaks (both must be absent or 0). */
export async function check(path: string): Promise<{ corruptions: number; leaks: number; allocated: number }> {
  const out = await run(systemQemuImg(), ['check', '--output=json', '-f', 'qcow2', path]).then(
    (r) => r.stdout,
    (err: { stdout?: string }) => err.stdout ?? '{}',
  );
  const j = JSON.parse(out) as Record<string, number>;
  return { corruptions: (j['corruptions'] ?? 0) + (j['check-errors'] ?? 0), leaks: j['leaks'] ?? 0, allocated: j['allocated-clusters'] ?? -1 };
}

/** Asserts that the image is clean (no errors, no leaks) and holds the raw file's bytes (`qemu-img compare`). */
export async function assertSame(path: string, rawPath: string): Promise<void> {
  const c = await check(path);
  assert.equal(c.corruptions, 0, `qemu-img check found errors in ${path}`);
  assert.equal(c.leaks, 0, `qemu-img check found leaked clusters in ${path}`);
  const r = await run(systemQemuImg(), ['compare', '-f', 'raw', '-F', 'qcow2', rawPath, path]).catch((err: { stdout?: string; code?: number }) => err);
  assert.ok(!('code' in r) || r.code === undefined, `qemu-img compare: ${String(r.stdout)}`);
}

/** `qemu-img info` virtual size of `path`, in bytes. */
export async function virtualSize(path: string): Promise<number> {
  const j = JSON.parse((await run(systemQemuImg(), ['info', '--output=json', '-f', 'qcow2', path])).stdout) as { 'virtual-size': number };
  return j['virtual-size'];
}

/** `length` bytes of a pattern that differs per offset and seed (never all zeros). */
export function pattern(length: number, seed: number): Uint8Array {
  const b = new Uint8Array(length);
  for (let i = 0; i < length; i++) b[i] = ((i * 31 + seed * 7) % 251) + 1;
  return b;
}
