// Runs `virt-ovf import` against a hostile package and records what it did: exit code, output,
// time, peak RSS, the qemu-img calls (through the scene's wrapper) and the state before the run.
import { execa } from 'execa';
import { lstat, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI, poolVolumes } from '../commands/helpers.js';
import { uniqueName, TEST_URI } from '../libvirt/harness.js';
import { QEMU_LOG_ENV, readQemuLog } from '../storage/qemu-img-log.js';
import type { Scene } from './kit.js';

/** Files and pool state before a run, compared afterwards. */
export type Before = { pool: string[]; tree: Map<string, string> };

/** What one CLI run did. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
  /** Peak RSS of the CLI in KiB (only with `rss: true` and /usr/bin/time present). */
  rssKiB?: number;
  /** qemu-img argument vectors, in order. */
  qemu: string[][];
  name: string;
  pkg: string;
  before: Before;
  /** The `interrupt` signal was sent. */
  interrupted: boolean;
}

/** Regular files, links and directories under `dir`, with size and mtime of files (directories by name only). */
export async function tree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const rel of await readdir(dir, { recursive: true })) {
    const st = await lstat(join(dir, rel)).catch(() => undefined);
    if (!st) continue;
    out.set(rel, st.isDirectory() ? 'dir' : `${st.isSymbolicLink() ? 'link' : st.isFile() ? 'file' : 'other'}:${st.size}:${st.mtimeMs}`);
  }
  return out;
}

let haveTime: boolean | undefined; // /usr/bin/time is installed

/** Options of {@link importPkg}. */
export interface ImportOpts {
  name?: string;
  /** Distinguishes this run's TMPDIR and qemu-img log when runs share a name (default: the name). */
  runId?: string;
  /** Leave --name out (the name comes from the descriptor; `name` is then only what to check). */
  noName?: boolean;
  args?: string[];
  /** Measure peak RSS with /usr/bin/time -f %M. */
  rss?: boolean;
  timeoutMs?: number;
  /** Extra environment for the CLI (overrides the defaults, e.g. VIRT_OVF_QEMU_IMG). */
  env?: Record<string, string>;
  /** Give the package on standard input (`virt-ovf import -`, the one-pass path) instead of by path. */
  stdin?: boolean;
  /** Send `signal` to the CLI the first time its stdout matches `when` (use with --json; not with rss). */
  interrupt?: { when: RegExp; signal: NodeJS.Signals };
}

/**
 * Runs `virt-ovf import PKG --pool SCRATCH --name NAME --virt-type qemu ARGS` with TMPDIR set to a
 * fresh directory inside the work tree and the logging qemu-img wrapper; never throws on a non-zero exit.
 */
export async function importPkg(scene: Scene, pkg: string, opts: ImportOpts = {}): Promise<Run> {
  const name = opts.name ?? uniqueName('hostile');
  const runId = opts.runId ?? name;
  const runTmp = join(scene.work, 'tmp', runId);
  await mkdir(runTmp, { recursive: true });
  const before: Before = { pool: await poolVolumes(scene.pool), tree: await tree(scene.work) };
  const log = join(scene.work, `qemu-${runId}.log`);
  await writeFile(log, '');
  const argv = [CLI, 'import', opts.stdin ? '-' : pkg, '--pool', scene.pool.name, ...(opts.noName ? [] : ['--name', name]), '--virt-type', 'qemu', ...(opts.args ?? [])];
  haveTime ??= await lstat('/usr/bin/time').then(() => true, () => false);
  const timed = opts.rss === true && haveTime;
  const [file, args] = timed ? ['/usr/bin/time', ['-f', 'HOSTILE_MAXRSS_KIB=%M', 'node', ...argv]] : ['node', argv];
  const env = { LIBVIRT_DEFAULT_URI: TEST_URI, TMPDIR: runTmp, VIRT_OVF_QEMU_IMG: scene.wrapper, [QEMU_LOG_ENV]: log, ...opts.env };
  const started = performance.now();
  const child = execa(file, args as string[], { reject: false, env, stdin: opts.stdin ? { file: pkg } : 'ignore', timeout: opts.timeoutMs ?? 120_000 });
  let interrupted = false;
  if (opts.interrupt) {
    const { when, signal } = opts.interrupt;
    child.stdout?.on('data', (chunk: Buffer) => {
      if (!interrupted && when.test(chunk.toString())) {
        interrupted = true;
        child.kill(signal);
      }
    });
  }
  const r = await child;
  const ms = performance.now() - started;
  let stderr = String(r.stderr);
  let rssKiB: number | undefined;
  if (timed) {
    const m = /HOSTILE_MAXRSS_KIB=(\d+)/.exec(stderr);
    if (m) rssKiB = Number(m[1]);
    stderr = stderr.replace(/^(HOSTILE_MAXRSS_KIB=\d+|Command exited with non-zero status \d+|Command terminated by signal \d+)\n?/gm, '');
  }
  const qemu = readQemuLog(log);
  await rm(log);
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr, ms, ...(rssKiB !== undefined ? { rssKiB } : {}), qemu, name, pkg, before, interrupted };
}
