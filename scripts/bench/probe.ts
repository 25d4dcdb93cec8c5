// What the import benchmark reads from the host while a command runs: free space and allocation
// (statfs, st_blocks), process memory (/proc/PID/status), and synchronous helper commands.
import { spawnSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { MiB } from './format.js';

/** Runs a command to completion; throws with its stderr when it fails. */
export function runSync(cmd: string, args: string[], allowFail = false): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (!allowFail && (r.error || r.status !== 0)) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr.trim()}`);
  }
  return r.stdout;
}

export async function freeBytes(path: string): Promise<number> {
  const s = await statfs(path);
  return s.bfree * s.bsize;
}

export async function allocatedBytes(path: string): Promise<number> {
  return (await stat(path)).blocks * 512;
}

/** Allocated bytes of the files in `dir` and its subdirectories (two levels: a temp dir inside the pool). */
export async function dirAllocatedBytes(dir: string, depth = 2): Promise<number> {
  let total = 0;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      if (depth > 1) total += await dirAllocatedBytes(path, depth - 1);
    } else {
      total += await allocatedBytes(path).catch(() => 0);
    }
  }
  return total;
}

/** Reads the whole file once (fills the page cache). */
export async function readThrough(path: string): Promise<void> {
  for await (const _ of createReadStream(path, { highWaterMark: 4 * MiB })) {
    // discard
  }
}

/** A kB field of /proc/PID/status, in bytes, or undefined when the process is gone. */
export async function procStatusBytes(pid: number, field: 'VmHWM' | 'VmRSS'): Promise<number | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** First child pid of `pid` (the command /usr/bin/time runs), or undefined. */
export async function firstChild(pid: number): Promise<number | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
    const first = text.trim().split(/\s+/)[0];
    return first ? Number(first) : undefined;
  } catch {
    return undefined;
  }
}
