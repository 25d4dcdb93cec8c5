// Shared fixtures for the archive tests: temporary directories and tar files built with GNU tar.

import { execFileSync } from 'node:child_process';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Runs `fn` with a fresh directory under os.tmpdir(), removed afterwards. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'virt-ovf-archive-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Builds `tarPath` with the system GNU tar from `names` (relative to `cwd`).
 * @param format a GNU tar --format value: ustar, pax, gnu, v7.
 */
export function makeTar(tarPath: string, cwd: string, names: string[], format: string, extra: string[] = []): void {
  execFileSync('tar', [`--format=${format}`, ...extra, '-cf', tarPath, '-C', cwd, ...names], { stdio: 'pipe' });
}

/** Reads `size` bytes at byte `offset` of `path`. */
export async function readAt(path: string, offset: number, size: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(size);
    const { bytesRead } = await fh.read(buffer, 0, size, offset);
    return buffer.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Deterministic pseudo-random bytes (so failures reproduce). */
export function pseudoRandom(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Collects a readable stream into one Buffer. */
export async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
