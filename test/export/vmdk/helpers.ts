// Fixtures for the streamOptimized writer tests: generated disks, the real qemu-img, and an
// independent reader of the stream (VMware "Virtual Disk Format 1.1") that checks its structure
// the way a sequential importer (VirtualBox reading an OVA) walks it.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { inflateSync } from 'node:zlib';
import { writeStreamOptimized, type DiskSource, type StreamOptimizedOptions, type StreamOptimizedResult } from '../../../src/export/vmdk/index.js';
import { loadMappings } from '../../../src/mapping/load.js';
import type { VmdkAdapter } from '../../../src/mapping/schema/export.js';

const run = promisify(execFile);
export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GRAIN = 64 * KiB;

/** A fresh directory under os.tmpdir() and the function that removes it. */
export async function scratchDir(): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'virt-ovf-vmdk-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Runs the system qemu-img; resolves with stdout and the exit code (compare exits 1 on a difference). */
export async function qemuImg(...args: string[]): Promise<{ stdout: string; code: number }> {
  try {
    const { stdout } = await run('qemu-img', args, { timeout: 120_000, maxBuffer: 16 * MiB });
    return { stdout, code: 0 };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number };
    if (typeof e.code === 'number' && e.code === 1) return { stdout: e.stdout ?? '', code: 1 };
    throw new Error(`qemu-img ${args.join(' ')} failed: ${e.stderr ?? String(err)}`);
  }
}

/** Log-like compressible text of `length` bytes. */
export function text(length: number, seed = 0): Buffer {
  const lines: string[] = [];
  for (let n = 0, i = 0; n < length; i++) {
    const line = `${seed}:${i} sector=${(i * 7919) % 100003} grain marker footer ok\n`;
    lines.push(line);
    n += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, length);
}

/** Deterministic incompressible bytes (AES-128-CTR keystream). */
export function noise(length: number, seed = 0): Buffer {
  const key = createHash('sha256').update(`noise ${seed}`).digest().subarray(0, 16);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(length));
}

/** Creates a sparse raw file of `size` bytes with `writes` at their offsets (bytes). */
export async function makeRaw(path: string, size: number, writes: Array<{ at: number; bytes: Buffer }>): Promise<string> {
  const fh = await open(path, 'w');
  try {
    await fh.truncate(size);
    for (const w of writes) await fh.write(w.bytes, 0, w.bytes.length, w.at);
  } finally {
    await fh.close();
  }
  return path;
}

/** Writes `source` as a streamOptimized VMDK file at `out` through writeStreamOptimized. */
export async function writeVmdk(source: DiskSource, out: string, opts: Partial<StreamOptimizedOptions> = {}): Promise<StreamOptimizedResult> {
  const fh = await open(out, 'w');
  try {
    return await writeStreamOptimized({ adapter: adapterOf(loadMappings().export.busDefaults.vmdkAdapterType), ...opts, source, write: async (chunk) => void (await fh.write(chunk)) });
  } finally {
    await fh.close();
  }
}

/** SparseExtentHeader fields, parsed independently of the writer's encoder. */
export interface ParsedHeader {
  magic: string;
  version: number;
  flags: number;
  capacity: bigint;
  grainSize: bigint;
  descriptorOffset: bigint;
  descriptorSize: bigint;
  numGTEsPerGT: number;
  rgdOffset: bigint;
  gdOffset: bigint;
  overHead: bigint;
  uncleanShutdown: number;
  newlineChars: string;
  compressAlgorithm: number;
}

export function parseHeader(b: Buffer): ParsedHeader {
  return {
    magic: b.toString('latin1', 0, 4),
    version: b.readUInt32LE(4),
    flags: b.readUInt32LE(8),
    capacity: b.readBigUInt64LE(12),
    grainSize: b.readBigUInt64LE(20),
    descriptorOffset: b.readBigUInt64LE(28),
    descriptorSize: b.readBigUInt64LE(36),
    numGTEsPerGT: b.readUInt32LE(44),
    rgdOffset: b.readBigUInt64LE(48),
    gdOffset: b.readBigUInt64LE(56),
    overHead: b.readBigUInt64LE(64),
    uncleanShutdown: b.readUInt8(72),
    newlineChars: b.toString('latin1', 73, 77),
    compressAlgorithm: b.readUInt16LE(77),
  };
}

/** What {@link walkStream} found. */
export interface StreamWalk {
  header: ParsedHeader;
  footer: ParsedHeader;
  descriptor: string;
  /** Grain number -> inflated 64 KiB, for every grain marker in the stream. */
  grains: Map<number, Buffer>;
  /** Grain tables written, and the grain directory. */
  tables: number;
  gd: number[];
}

/**
 * Reads a stream-optimized VMDK front to back as a sequential importer does: header at 0, grain
 * markers and metadata markers from sector overHead on, in order, up to the end-of-stream marker,
 * which must be the last sector. Asserts along the way: grains in ascending LBA order, each
 * inflating to exactly 64 KiB; each grain table written after its grains and pointing at their
 * markers; the directory pointing at the tables; the footer marker, footer and EOS at the end.
 */
export async function walkStream(path: string): Promise<StreamWalk> {
  const file = await readFile(path);
  assert.equal(file.length % 512, 0, 'file size is a multiple of 512');
  const header = parseHeader(file.subarray(0, 512));
  const descriptor = file.toString('utf8', Number(header.descriptorOffset) * 512, Number(header.descriptorOffset + header.descriptorSize) * 512).replace(/\0+$/, '');
  const grains = new Map<number, Buffer>();
  const markerSectorOf = new Map<number, number>();
  const tableAt = new Map<number, Buffer>();
  let gdAt = -1;
  let gd: number[] = [];
  let footer: ParsedHeader | undefined;
  let lastLba = -1;
  let sector = Number(header.overHead);
  for (;;) {
    assert.ok(sector * 512 < file.length, `stream runs past the end of the file at sector ${sector}`);
    const m = file.subarray(sector * 512, sector * 512 + 512);
    const size = m.readUInt32LE(8);
    if (size !== 0) {
      const lba = Number(m.readBigUInt64LE(0));
      assert.ok(lba > lastLba, `grain LBA ${lba} after ${lastLba}`);
      assert.equal(lba % 128, 0, 'grain LBA is grain-aligned');
      lastLba = lba;
      const data = inflateSync(file.subarray(sector * 512 + 12, sector * 512 + 12 + size));
      assert.equal(data.length, GRAIN, `grain at LBA ${lba} inflates to 64 KiB`);
      grains.set(lba / 128, data);
      markerSectorOf.set(lba / 128, sector);
      sector += Math.ceil((12 + size) / 512);
      continue;
    }
    const val = Number(m.readBigUInt64LE(0));
    const type = m.readUInt32LE(12);
    assert.ok(m.subarray(16).equals(Buffer.alloc(496)), 'marker padding is zero');
    if (type === 0) {
      assert.equal(val, 0);
      assert.equal((sector + 1) * 512, file.length, 'end-of-stream marker is the last sector');
      break;
    }
    if (type === 1) tableAt.set(sector + 1, file.subarray((sector + 1) * 512, (sector + 1 + val) * 512));
    else if (type === 2) {
      gdAt = sector + 1;
      gd = [...new Uint32Array(file.buffer.slice(file.byteOffset + gdAt * 512, file.byteOffset + (gdAt + val) * 512))];
    } else if (type === 3) {
      assert.equal(val, 1);
      footer = parseHeader(file.subarray((sector + 1) * 512, (sector + 2) * 512));
    } else assert.fail(`unknown marker type ${type} at sector ${sector}`);
    sector += 1 + val;
  }
  assert.ok(footer, 'footer present');
  assert.equal(Number(footer.gdOffset), gdAt, 'footer gdOffset points at the grain directory');
  const totalGrains = Math.ceil(Number(header.capacity) / 128);
  gd = gd.slice(0, Math.ceil(totalGrains / 512));
  let mapped = 0;
  for (const [i, gtSector] of gd.entries()) {
    if (gtSector === 0) continue;
    const gt: Buffer | undefined = tableAt.get(gtSector);
    if (!gt) assert.fail(`GD entry ${i} points at a grain table`);
    for (let j = 0; j < 512; j++) {
      const entry: number = gt.readUInt32LE(j * 4);
      const grain = i * 512 + j;
      if (entry === 0) continue;
      assert.equal(entry, markerSectorOf.get(grain), `GT entry of grain ${grain} points at its marker`);
      assert.ok(entry < gtSector, `grain ${grain} is written before its grain table`);
      mapped++;
    }
  }
  assert.equal(mapped, grains.size, 'every grain is mapped by a grain table');
  assert.equal(tableAt.size, gd.filter((x) => x !== 0).length, 'every grain table is in the directory');
  return { header, footer, descriptor, grains, tables: tableAt.size, gd };
}

/** The VMDK adapter `type` with its geometry, as mappings/export.json vmdkAdapters gives it. */
export function adapterOf(type: string): VmdkAdapter {
  return { type, ...loadMappings().export.vmdkAdapters.types[type]! };
}
