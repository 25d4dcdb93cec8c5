// Shared fixtures for the storage tests: scratch directories, images made by the real qemu-img, header patches.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, open, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { PackageError } from '../../src/errors.js';
import { checkImage, type CheckImageOptions } from '../../src/storage/image-check.js';
import type { ImageFormat, ImageSource } from '../../src/storage/qemu-img.js';
import { logQemuImg, systemQemuImg } from './qemu-img-log.js';

const run = promisify(execFile);

/** A fresh directory under os.tmpdir() and the function that removes it. */
export async function scratchDir(): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'virt-ovf-storage-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Runs the system qemu-img directly (by its absolute path, so the logging wrapper never sees it):
 * fixtures are made by the real tool, the code under test never builds them.
 */
export async function qemuImg(...args: string[]): Promise<string> {
  return (await run(systemQemuImg(), args, { timeout: 60_000 })).stdout;
}

/** `qemu-img create -q -f FORMAT [-o OPTIONS] PATH SIZE` in `dir`; returns the path. */
export async function makeImage(dir: string, name: string, format: string, size: string, options?: string): Promise<string> {
  const path = join(dir, name);
  await qemuImg('create', '-q', '-f', format, ...(options ? ['-o', options] : []), path, size);
  return path;
}

/**
 * Pads `path` with zeros to a multiple of 512 bytes. qemu's raw layer (the json: offset/size
 * wrapper) refuses a size that is not a multiple of 512, and a fresh qcow2 from qemu-img create
 * is 196616 bytes; trailing zeros are harmless to every format here.
 */
export async function alignTo512(path: string): Promise<string> {
  const { size } = await stat(path);
  if (size % 512 !== 0) await truncate(path, size + 512 - (size % 512));
  return path;
}

/** The whole of `path` as an ImageSource of `format`, labelled by its base name. */
export async function sourceOf(path: string, format: ImageFormat): Promise<ImageSource> {
  return { path, offset: 0, size: (await stat(path)).size, format, label: `"${basename(path)}"` };
}

/**
 * Copies `path` into `dir/name` after `prefix` bytes of 0xAA junk and pads it with `suffix`
 * bytes, as an OVA member sits between other members; returns the byte range of the copy.
 */
export async function embed(path: string, dir: string, name: string, format: ImageFormat, prefix = 1536, suffix = 1024): Promise<ImageSource> {
  const bytes = await readFile(path);
  const out = join(dir, name);
  await writeFile(out, Buffer.concat([Buffer.alloc(prefix, 0xaa), bytes, Buffer.alloc(suffix, 0xaa)]));
  return { path: out, offset: prefix, size: bytes.length, format, label: `"${basename(path)}" in ${name}` };
}

/** Overwrites bytes of `path` at `offset` with `bytes`. */
export async function patch(path: string, offset: number, bytes: Buffer): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.write(bytes, 0, bytes.length, offset);
  } finally {
    await fh.close();
  }
}

/** Reads `length` bytes of `path` at `offset`. */
export async function readAt(path: string, offset: number, length: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, offset);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** A big-endian or little-endian 32/64-bit field as a Buffer. */
export function u32be(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
export function u64be(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
}
export function u64le(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
}

/**
 * Rewrites the embedded descriptor of a sparse VMDK made by qemu-img (descriptorOffset and
 * descriptorSize read from its header), keeping its size: the new text is NUL-padded.
 */
export async function editVmdkDescriptor(path: string, edit: (text: string) => string): Promise<void> {
  const header = await readAt(path, 0, 512);
  const offset = Number(header.readBigUInt64LE(28)) * 512;
  const size = Number(header.readBigUInt64LE(36)) * 512;
  const raw = await readAt(path, offset, size);
  const end = raw.indexOf(0);
  const text = edit(raw.toString('utf8', 0, end < 0 ? raw.length : end));
  const bytes = Buffer.from(text, 'utf8');
  assert.ok(bytes.length <= size, 'the edited descriptor still fits');
  await patch(path, offset, Buffer.concat([bytes, Buffer.alloc(size - bytes.length)]));
}

/**
 * Asserts that checkImage refuses `src` with a PackageError (exit 3) whose message names the
 * label and matches `pattern`, and that no qemu-img ran meanwhile. Returns the error.
 */
export async function assertRefused(src: ImageSource, pattern: RegExp, opts: Partial<CheckImageOptions> = {}): Promise<PackageError> {
  const log = logQemuImg();
  const before = log.mark();
  const err = await checkImage(src, { declaredFormat: src.format, ...opts }).then(
    (ok) => assert.fail(`expected a refusal, got ${JSON.stringify(ok)}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof PackageError, `a PackageError, not ${String(err)}`);
  assert.equal(err.exitCode, 3);
  assert.ok(err.message.startsWith(`${src.label}: `), `names the file: ${err.message}`);
  assert.match(err.message, pattern);
  assert.match(err.message, /refused before qemu-img opens it$/);
  assert.deepEqual(log.since(before), [], 'no qemu-img process was run');
  return err;
}
