// Shared checks of the OS-error fault tests: a clean error (exit code, the path named, no trace, no errno text), read-only mounts, file snapshots.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { mountTmpfs, type Tmpfs } from '../storage/tmpfs.js';

/** What a CLI run gave back. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Asserts a clean refusal: exit `code`, one `virt-ovf: error:` line matching `message` (which
 * names the path), no stack trace, no "internal error", no Node errno text ("ENOENT: …, open '…'").
 */
export function assertCleanError(r: CliRun, code: number, message: RegExp): void {
  assert.equal(r.code, code, `exit ${r.code}, expected ${code}: ${r.stderr}`);
  assert.match(r.stderr, message);
  assert.match(r.stderr, /^virt-ovf: error: /m);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'a stack trace reached the user');
  assert.doesNotMatch(r.stderr, /^virt-ovf: error: internal error|this is a bug/m, 'reported as a bug');
  assert.doesNotMatch(r.stderr, /\bE[A-Z]{3,}: [a-z][^,]*, \w+ '/, "Node's errno text reached the user");
}

/** sha256 of every regular file under `dir` (relative path → digest), recursively; `{}` when `dir` is absent. */
export async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(join(dir, rel), { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const path = join(rel, e.name);
      if (e.isDirectory()) await walk(path);
      else if (e.isFile()) out[path] = createHash('sha256').update(await readFile(join(dir, path))).digest('hex');
    }
  };
  if (await stat(dir).then((s) => s.isDirectory(), () => false)) await walk('');
  return out;
}

/**
 * A small tmpfs at `parent/label`, `prepare`d while writable (files to keep, subdirectories), then
 * remounted read-only: root is refused by EROFS where a chmod would not stop it. Undefined when not root.
 */
export async function readOnlyTmpfs(parent: string, label: string, prepare: (path: string) => Promise<void> = async () => undefined): Promise<Tmpfs | undefined> {
  const fs = await mountTmpfs(parent, label, 16 * 2 ** 20);
  if (!fs) return undefined;
  try {
    await prepare(fs.path);
    await execa('mount', ['-o', 'remount,ro', fs.path]);
  } catch (err) {
    await fs.unmount();
    throw err;
  }
  return fs;
}
