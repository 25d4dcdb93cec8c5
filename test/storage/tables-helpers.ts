// Fixtures for the image table checks: disks with data converted by the real qemu-img, where
// their tables sit (read independently of src/), byte-wise corruption, and what the system
// qemu-img makes of a corrupted copy (the differential: it would have "succeeded").
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, open, rm, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { promisify } from 'node:util';
import { noise, text } from '../export/vmdk/helpers.js';
import { checkImage } from '../../src/storage/image-check.js';
import type { ImageFormat } from '../../src/storage/qemu-img.js';
import { embed, patch, qemuImg, readAt, scratchDir, sourceOf } from './helpers.js';
import { systemQemuImg } from './qemu-img-log.js';

const run = promisify(execFile);
export const MiB = 2 ** 20;

/** Virtual size of the data disk: 48 MiB, so a VMDK needs two grain tables (32 MiB each). */
export const DISK_BYTES = 48 * MiB;

/** A raw disk of DISK_BYTES with text at 0 and 1 MiB and noise at 33 MiB (second grain table). */
export async function dataDisk(dir: string): Promise<string> {
  const path = join(dir, 'data.raw');
  const fh = await open(path, 'w');
  try {
    await fh.truncate(DISK_BYTES);
    for (const [at, bytes] of [[0, text(256 * 1024, 1)], [MiB, text(512 * 1024, 2)], [33 * MiB, noise(512 * 1024, 3)]] as const) await fh.write(bytes, 0, bytes.length, at);
  } finally {
    await fh.close();
  }
  return path;
}

/** The scratch directory, data disk and images of one suite, filled in by {@link suiteImages}' before hook. */
export interface SuiteImages<K extends string> {
  dir: string;
  raw: string;
  images: Record<K, string>;
}

/**
 * Registers the suite's hooks: before, a scratch directory with the data disk and the images
 * `make` converts from it; after, their removal. Call inside describe().
 */
export function suiteImages<K extends string>(make: (raw: string, dir: string) => Promise<Record<K, string>>): SuiteImages<K> {
  const suite = {} as SuiteImages<K>;
  let cleanup: (() => Promise<void>) | undefined;
  before(async () => {
    let dir: string;
    ({ dir, cleanup } = await scratchDir());
    const raw = await dataDisk(dir);
    Object.assign(suite, { dir, raw, images: await make(raw, dir) });
  });
  after(() => cleanup?.());
  return suite;
}

/** `qemu-img convert -f raw -O FORMAT [-o OPTIONS] [-c] RAW DIR/NAME`; returns the path. */
export async function convertTo(raw: string, dir: string, name: string, format: string, options = '', compress = false): Promise<string> {
  const out = join(dir, name);
  await qemuImg('convert', '-q', '-f', 'raw', '-O', format, ...(options ? ['-o', options] : []), ...(compress ? ['-c'] : []), raw, out);
  return out;
}

/** A copy of `from` as `dir/name`, with `edits` ([offset, bytes]) written and then cut to `truncateTo` bytes. */
export async function corrupt(from: string, dir: string, name: string, edits: [number, Buffer][], truncateTo?: number): Promise<string> {
  const path = join(dir, name);
  await copyFile(from, path);
  for (const [at, bytes] of edits) await patch(path, at, bytes);
  if (truncateTo !== undefined) await truncate(path, truncateTo);
  return path;
}

export const le32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};

/** Where a sparse VMDK's grain directory sits, read through the footer when gdOffset is GD_AT_END. */
export interface VmdkLayout {
  /** Byte offset of the header qemu uses (0, or the footer's). */
  headerAt: number;
  gdSector: number;
  gtes: number;
  grainSectors: number;
  gd: number[];
}

export async function vmdkLayout(path: string, size: number): Promise<VmdkLayout> {
  let headerAt = 0;
  let h = await readAt(path, 0, 512);
  if (h.readBigUInt64LE(56) === 0xffffffffffffffffn) {
    headerAt = size - 1024;
    h = await readAt(path, headerAt, 512);
  }
  const [capacity, grainSectors, gtes, gdSector] = [Number(h.readBigUInt64LE(12)), Number(h.readBigUInt64LE(20)), h.readUInt32LE(44), Number(h.readBigUInt64LE(56))];
  const entries = Math.ceil(capacity / (grainSectors * gtes));
  const raw = await readAt(path, gdSector * 512, entries * 4);
  return { headerAt, gdSector, gtes, grainSectors, gd: Array.from({ length: entries }, (_, i) => raw.readUInt32LE(i * 4)) };
}

/** The first (or last) allocated entry of grain table `index`: its byte offset in the file and the grain's sector. */
export async function vmdkGrain(path: string, layout: VmdkLayout, index: number, last = false): Promise<{ entry: number; at: number; sector: number }> {
  const gt = await readAt(path, layout.gd[index]! * 512, layout.gtes * 4);
  const order = Array.from({ length: layout.gtes }, (_, i) => (last ? layout.gtes - 1 - i : i));
  for (const entry of order) {
    const sector = gt.readUInt32LE(entry * 4);
    if (sector > 1) return { entry, at: layout.gd[index]! * 512 + entry * 4, sector };
  }
  assert.fail(`grain table ${index} of ${path} maps no grain`);
}

/** Where a qcow2's tables sit (big-endian header fields, QEMU docs/interop/qcow2.txt). */
export interface Qcow2Layout {
  clusterBytes: number;
  l1Offset: number;
  l1: bigint[];
  refOffset: number;
}

export async function qcow2Layout(path: string): Promise<Qcow2Layout> {
  const h = await readAt(path, 0, 104);
  const l1Offset = Number(h.readBigUInt64BE(40));
  const l1Raw = await readAt(path, l1Offset, h.readUInt32BE(36) * 8);
  const l1 = Array.from({ length: l1Raw.length / 8 }, (_, i) => l1Raw.readBigUInt64BE(i * 8));
  return { clusterBytes: 2 ** h.readUInt32BE(20), l1Offset, l1, refOffset: Number(h.readBigUInt64BE(48)) };
}

/** The first allocated entry of the L2 table L1 entry 0 names (entries of `entryBytes`): its index, byte offset and value. */
export async function qcow2Data(path: string, layout: Qcow2Layout, entryBytes = 8): Promise<{ entry: number; at: number; value: bigint }> {
  const l2Offset = Number(layout.l1[0]! & 0x00fffffffffffe00n);
  const l2 = await readAt(path, l2Offset, layout.clusterBytes);
  for (let entry = 0; entry < layout.clusterBytes / entryBytes; entry++) {
    const value = l2.readBigUInt64BE(entry * entryBytes);
    if ((value & 0x40fffffffffffe00n) !== 0n) return { entry, at: l2Offset + entry * entryBytes, value };
  }
  assert.fail(`L2 table 0 of ${path} maps no cluster`);
}

export const be64 = (n: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
};

/**
 * What the system qemu-img does with `path` (-f `format`), converted to raw next to it: its exit
 * code, its stderr, and whether the result equals `raw` (`qemu-img compare`).
 */
export async function qemuConverts(path: string, format: string, raw: string): Promise<{ code: number; stderr: string; same: boolean }> {
  const out = `${path}.converted.raw`;
  try {
    await run(systemQemuImg(), ['convert', '-q', '-f', format, '-O', 'raw', path, out], { timeout: 120_000 });
  } catch (err) {
    await rm(out, { force: true });
    const e = err as { code?: number; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stderr: e.stderr ?? String(err), same: false };
  }
  const compare = await run(systemQemuImg(), ['compare', '-q', '-f', 'raw', '-F', 'raw', raw, out], { timeout: 120_000 }).then(() => 0, (e: { code?: number }) => e.code ?? -1);
  await rm(out, { force: true });
  assert.ok(compare === 0 || compare === 1, `qemu-img compare failed (${compare})`);
  return { code: 0, stderr: '', same: compare === 0 };
}

/**
 * Asserts the differential: qemu-img, given the corrupted image, exits 0 and writes a disk that
 * is not the original data (silent loss), or `same: true` where the data survives but the image
 * is still inconsistent (a refcount table outside it).
 */
export async function assertQemuWouldAccept(path: string, format: string, raw: string, want: { same: boolean }): Promise<void> {
  const result = await qemuConverts(path, format, raw);
  assert.equal(result.code, 0, `qemu-img convert refused ${path} itself: ${result.stderr}`);
  assert.equal(result.same, want.same, want.same ? 'qemu-img lost data' : 'qemu-img kept the data: the corruption missed');
}

/** checkImage accepts the suite's image `kind` alone and inside a larger file (DISK_BYTES), and qemu-img reads the data back. */
export async function assertAccepted<K extends string>(suite: SuiteImages<K>, kind: K, format: ImageFormat): Promise<void> {
  const src = await sourceOf(suite.images[kind], format);
  assert.deepEqual(await checkImage(src, { declaredFormat: format, capacityBytes: DISK_BYTES }), { format, virtualSizeBytes: DISK_BYTES, warnings: [] });
  const inner = await embed(suite.images[kind], suite.dir, `outer-${kind}.bin`, format, 4096, 65536);
  assert.equal((await checkImage(inner, { declaredFormat: format })).virtualSizeBytes, DISK_BYTES);
  assert.equal((await qemuConverts(suite.images[kind], format, suite.raw)).same, true, `${kind}: qemu-img reads the data back`);
}
