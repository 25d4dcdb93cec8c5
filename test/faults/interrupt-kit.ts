// Runs `virt-ovf import --json` as the session user and acts on its events (stop, kill or resume
// libvirtd, SIGINT the CLI, close its stdout), recording when each step fired and how it ended.
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SessionDaemon } from '../harness/session-libvirtd.js';

/** One reaction: the first stdout line matching `when` (after the previous step fired) runs `act`. */
export interface Step {
  when: RegExp;
  /** Wait this long after the match before acting (the CLI enters the libvirt call meanwhile). */
  delayMs?: number;
  act: (cli: { kill(sig: NodeJS.Signals): void; closeStdout(): void }) => void | Promise<void>;
}

/** How a watched run ended. */
export interface Watched {
  code: number | undefined;
  signal: string | undefined;
  stdout: string;
  stderr: string;
  /** performance.now() when each step acted. */
  acted: number[];
  /** performance.now() when the CLI exited. */
  exitedAt: number;
}

/** Runs `virt-ovf ARGS --json` as the user and applies `steps` in order. */
export async function runWatched(d: SessionDaemon, args: string[], steps: Step[], timeoutMs = 120_000): Promise<Watched> {
  const child = execa(...d.cli([...args, '--json']), { reject: false, timeout: timeoutMs, stdin: 'ignore', buffer: false, cwd: d.dir });
  let stdout = '';
  let stderr = '';
  const acted: number[] = [];
  const cli = { kill: (sig: NodeJS.Signals) => void child.kill(sig), closeStdout: () => child.stdout?.destroy() };
  let busy = false;
  // A step acts on the output so far; the next step looks again at once (its line may already be there).
  const check = (): void => {
    const step = steps[acted.length];
    if (busy || !step || !step.when.test(stdout)) return;
    busy = true;
    setTimeout(async () => {
      acted.push(performance.now());
      await step.act(cli);
      busy = false;
      check();
    }, step.delayMs ?? 0);
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    check();
  });
  child.stdout?.on('error', () => undefined);
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const r = await child;
  return { code: r.exitCode, signal: r.signal, stdout, stderr, acted, exitedAt: performance.now() };
}

/** sha256 of every regular file under `dir`, by relative path (pre-existing files must stay byte-identical). */
export async function digests(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join((entry as { parentPath?: string }).parentPath ?? entry.path, entry.name);
    out.set(path, createHash('sha256').update(await readFile(path)).digest('hex'));
  }
  return out;
}

/** Pids of processes whose command line names `text` (a volume name: a qemu-img left writing). */
export async function processesNaming(text: string): Promise<number[]> {
  const pids: number[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(text)) pids.push(Number(pid));
  }
  return pids;
}
