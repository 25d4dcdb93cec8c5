// Fixtures for the streaming VMDK decoder tests: an independent builder of streamOptimized VMDKs
// (VMware "Virtual Disk Format 5.0" layout: grains, a grain table after each span, directory,
// footer, end-of-stream marker) whose every field a test can break, the real qemu-img as the
// reference, and decoding into a raw file through the real RawFileSink.

import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { deflateSync } from 'node:zlib';
import { PackageError } from '../../src/errors.js';
import { RawFileSink } from '../../src/storage/raw-file-sink.js';
import { openStreamOptimized, type DecodeResult } from '../../src/storage/vmdk-stream/index.js';
import { systemQemuImg } from './qemu-img-log.js';

const run = promisify(execFile);
export const SECTOR = 512;
export const GRAIN = 64 * 1024;
const GT_ENTRIES = 512;

/** One grain record of a crafted stream, in stream order. */
export interface CraftGrain {
  /** LBA in the marker, in sectors. */
  lba: number;
  /** Guest bytes (deflated by the builder), or the exact compressed bytes. */
  data?: Buffer;
  compressed?: Buffer;
  /** Overrides the marker's size field. */
  sizeField?: number;
}

/** A crafted stream: grains in stream order, and what to break. */
export interface Craft {
  capacitySectors: number;
  grains: CraftGrain[];
  /** Called with the grain tables (sector of each grain's marker, by grain number) before they are written. */
  editTables?: (gt: Map<number, number>) => void;
  /** Called with the finished footer header sector. */
  editFooter?: (footer: Buffer) => void;
  /** Bytes appended after the end-of-stream marker. */
  trailing?: Buffer;
}

/** The sparse extent header (also the footer), stream flags 0x30001. */
function header(capacitySectors: number, gdOffset: bigint): Buffer {
  const b = Buffer.alloc(SECTOR);
  b.write('KDMV', 0, 'latin1');
  b.writeUInt32LE(3, 4);
  b.writeUInt32LE(0x30001, 8);
  b.writeBigUInt64LE(BigInt(capacitySectors), 12);
  b.writeBigUInt64LE(128n, 20);
  b.writeBigUInt64LE(1n, 28);
  b.writeBigUInt64LE(20n, 36);
  b.writeUInt32LE(GT_ENTRIES, 44);
  b.writeBigUInt64LE(gdOffset, 56);
  b.writeBigUInt64LE(128n, 64);
  b.write('\n \r\n', 73, 'latin1');
  b.writeUInt16LE(1, 77);
  return b;
}

/** A metadata marker sector. */
function marker(type: number, sectors: number): Buffer {
  const b = Buffer.alloc(SECTOR);
  b.writeBigUInt64LE(BigInt(sectors), 0);
  b.writeUInt32LE(type, 12);
  return b;
}

const padded = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc((SECTOR - (b.length % SECTOR)) % SECTOR)]);

/** Builds the stream described by `c`. */
export function craft(c: Craft): Buffer {
  const lead = Buffer.alloc(128 * SECTOR);
  header(c.capacitySectors, 0xffffffffffffffffn).copy(lead);
  const desc = `# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType="streamOptimized"\nRW ${c.capacitySectors} SPARSE "disk.vmdk"\nddb.adapterType = "lsilogic"\n`;
  lead.write(desc, SECTOR, 'utf8');
  const parts: Buffer[] = [lead];
  let sector = 128;
  const push = (b: Buffer) => {
    parts.push(b);
    sector += b.length / SECTOR;
  };
  const gt = new Map<number, number>();
  for (const g of c.grains) {
    const z = g.compressed ?? deflateSync(g.data ?? Buffer.alloc(GRAIN));
    const m = Buffer.alloc(12);
    m.writeBigUInt64LE(BigInt(g.lba), 0);
    m.writeUInt32LE(g.sizeField ?? z.length, 8);
    gt.set(Math.floor(g.lba / 128), sector);
    push(padded(Buffer.concat([m, z])));
  }
  c.editTables?.(gt);
  const gdEntries = Math.ceil(Math.ceil(c.capacitySectors / 128) / GT_ENTRIES);
  const gd = new Uint32Array(gdEntries);
  const spans = [...new Set([...gt.keys()].map((g) => Math.floor(g / GT_ENTRIES)))].sort((a, b) => a - b);
  for (const span of spans) {
    const table = Buffer.alloc(4 * SECTOR);
    for (const [g, s] of gt) if (Math.floor(g / GT_ENTRIES) === span) table.writeUInt32LE(s, (g % GT_ENTRIES) * 4);
    push(marker(1, 4));
    if (span < gdEntries) gd[span] = sector;
    push(table);
  }
  push(marker(2, Math.ceil((gdEntries * 4) / SECTOR)));
  const gdSector = sector;
  push(padded(Buffer.from(gd.buffer)));
  push(marker(3, 1));
  const footer = header(c.capacitySectors, BigInt(gdSector));
  c.editFooter?.(footer);
  push(footer);
  push(Buffer.alloc(SECTOR));
  if (c.trailing) parts.push(c.trailing);
  return Buffer.concat(parts);
}

/** Runs the system qemu-img. */
export async function qemuImg(...args: string[]): Promise<string> {
  return (await run(systemQemuImg(), args, { timeout: 120_000, maxBuffer: 2 ** 24 })).stdout;
}

/** What one side made of an image: the raw bytes, or its refusal. */
export type Outcome = { ok: true; raw: Buffer } | { ok: false; error: string };

/** `qemu-img convert -f vmdk -O raw` of `vmdk` into `out`. */
export async function qemuDecode(vmdk: string, out: string): Promise<Outcome> {
  await rm(out, { force: true });
  try {
    await qemuImg('convert', '-f', 'vmdk', '-O', 'raw', vmdk, out);
    return { ok: true, raw: await readFile(out) };
  } catch (err) {
    return { ok: false, error: String((err as { stderr?: string }).stderr ?? err) };
  }
}

/** Decodes `vmdk` with the streaming decoder into `out` (a fresh sparse file) through RawFileSink. */
export async function ourDecodeFile(vmdk: string, out: string, chunk = 64 * 1024, workers = 2): Promise<DecodeResult> {
  const img = await openStreamOptimized(createReadStream(vmdk, { highWaterMark: chunk }), { label: vmdk });
  await writeFile(out, '');
  const sink = await RawFileSink.open(out, { capacityBytes: img.capacityBytes });
  return img.decodeInto(sink, { workers });
}

/** {@link ourDecodeFile} as an Outcome; anything but a PackageError is rethrown (a bug). */
export async function ourDecode(vmdk: string, out: string, chunk?: number): Promise<Outcome> {
  try {
    await ourDecodeFile(vmdk, out, chunk);
    return { ok: true, raw: await readFile(out) };
  } catch (err) {
    if (err instanceof PackageError) return { ok: false, error: (err as Error).message };
    throw err;
  }
}

/** Deterministic pseudo-random bytes (xorshift), incompressible enough to be stored. */
export function noise(length: number, seed: number): Buffer {
  const b = Buffer.alloc(length);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b.writeInt32LE(x | 0, Math.min(i, length - 4));
  }
  return b;
}

/** Compressible text-like bytes. */
export function text(length: number, seed: number): Buffer {
  let s = '';
  for (let i = 0; s.length < length; i++) s += `line ${seed}.${i} grain data ${(i * 7919) % 1013}\n`;
  return Buffer.from(s.slice(0, length));
}
