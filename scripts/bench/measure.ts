// Measures one command of the import benchmark: wall time, peak RSS, free-space drop and pool-directory allocation.
import { spawn } from 'node:child_process';
import { existsSync, watch } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { dirAllocatedBytes, firstChild, freeBytes, procStatusBytes } from './probe.js';

/** How often free space and RSS are sampled while a command runs. */
export const SAMPLE_MS = 50;
const GNU_TIME = '/usr/bin/time';

/** What one measured command did. */
export interface Measured {
  wallMs: number;
  /** Peak RSS in bytes, and how it was obtained. */
  peakRssBytes: number | undefined;
  rssMethod: string;
  /** Last VmHWM read from /proc for the measured process itself (not its children). */
  hwmBytes: number | undefined;
  /** Largest drop of the filesystem's free space below its value just before the start. */
  maxDropBytes: number;
  /** Free-space drop still present after exit. */
  endDropBytes: number;
  /** Largest total allocation seen in the pool directory (files up to two levels deep). */
  maxDirAllocBytes: number;
  /** Largest total allocation seen in `watchDir` (the temporary directory), and the names created there (fs.watch). */
  maxWatchAllocBytes: number;
  watchCreated: string[];
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** Date.now() at spawn, to align the tool's own timestamps. */
  startedAt: number;
}

/**
 * Spawns `cmd args` and measures wall time (process.hrtime), peak RSS and the largest drop of
 * free space on the filesystem holding `fsPath` (fs.statfs every 50 ms); with `watchDir`, the
 * largest allocation inside it (st_blocks every 50 ms) and every name created in it (inotify).
 * Peak RSS: GNU time's %M when /usr/bin/time exists (the maximum over the process and the
 * children it waited for), plus the last VmHWM sampled from /proc for the process itself;
 * without GNU time, the maximum VmRSS sampled every 50 ms.
 */
export async function measure(cmd: string, args: string[], fsPath: string, workDir: string, opts: { watchDir?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Measured> {
  const useTime = existsSync(GNU_TIME);
  const timeFile = join(workDir, `time-${process.pid}-${Date.now()}.txt`);
  const free0 = await freeBytes(fsPath);
  let minFree = free0;
  let maxDirAlloc = 0;
  let maxWatchAlloc = 0;
  const created = new Set<string>();
  const watcher = opts.watchDir ? watch(opts.watchDir, { recursive: true }, (_e, f) => f && created.add(String(f))) : undefined;
  let maxRss = 0;
  let lastHwm: number | undefined;
  let targetPid: number | undefined;

  const startedAt = Date.now();
  const t0 = process.hrtime.bigint();
  const child = useTime
    ? spawn(GNU_TIME, ['-f', '%M', '-o', timeFile, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env })
    : spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));

  let busy = false;
  const sample = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      minFree = Math.min(minFree, await freeBytes(fsPath));
      maxDirAlloc = Math.max(maxDirAlloc, await dirAllocatedBytes(fsPath));
      if (opts.watchDir) maxWatchAlloc = Math.max(maxWatchAlloc, await dirAllocatedBytes(opts.watchDir, 4));
      if (child.pid !== undefined) {
        targetPid ??= useTime ? await firstChild(child.pid) : child.pid;
        if (targetPid !== undefined) {
          const rss = await procStatusBytes(targetPid, 'VmRSS');
          if (rss !== undefined) maxRss = Math.max(maxRss, rss);
          lastHwm = (await procStatusBytes(targetPid, 'VmHWM')) ?? lastHwm;
        }
      }
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void sample(), SAMPLE_MS);
  void sample();

  const exitCode = await new Promise<number | null>((res, rej) => {
    child.once('error', rej);
    child.once('exit', (code) => res(code));
  });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  clearInterval(timer);
  watcher?.close();
  await new Promise<void>((res) => (child.stdout.readableEnded && child.stderr.readableEnded ? res() : child.once('close', () => res())));
  const freeEnd = await freeBytes(fsPath);
  minFree = Math.min(minFree, freeEnd);
  maxDirAlloc = Math.max(maxDirAlloc, await dirAllocatedBytes(fsPath));

  let peakRssBytes: number | undefined;
  let rssMethod: string;
  if (useTime) {
    const kb = Number((await readFile(timeFile, 'utf8').catch(() => '')).trim().split('\n').pop());
    await rm(timeFile, { force: true });
    const timeRss = Number.isFinite(kb) && kb > 0 ? kb * 1024 : undefined;
    peakRssBytes = timeRss ?? lastHwm;
    rssMethod = `GNU time %M (maximum over the process and the children it waited for, i.e. node or qemu-img); VmHWM row: last /proc/PID/status sample of the node process alone`;
  } else {
    peakRssBytes = maxRss > 0 ? maxRss : undefined;
    rssMethod = `max VmRSS sampled every ${SAMPLE_MS} ms`;
  }
  return {
    wallMs,
    peakRssBytes,
    rssMethod,
    hwmBytes: lastHwm,
    maxDropBytes: free0 - minFree,
    endDropBytes: free0 - freeEnd,
    maxDirAllocBytes: maxDirAlloc,
    maxWatchAllocBytes: maxWatchAlloc,
    watchCreated: [...created],
    exitCode,
    stdout: Buffer.concat(out).toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
    startedAt,
  };
}
