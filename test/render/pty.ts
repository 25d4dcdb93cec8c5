// Runs the real CLI on a pseudo-terminal (util-linux script(1)), optionally typing Ctrl-C into it.
import { spawn } from 'node:child_process';
import { CLI } from '../commands/helpers.js';
import { TEST_URI } from '../libvirt/harness.js';
import { shellQuote } from '../../src/trace.js';

/** What a run on the pty gave. Times in milliseconds. */
export interface PtyRun {
  /** virt-ovf's exit status as script(1) reports it (128 + N when a signal N killed it). */
  readonly code: number | null;
  /** Everything the terminal received, escape sequences included. */
  readonly output: string;
  /** When Ctrl-C was typed (since the start), if it was. */
  readonly interruptedAt?: number;
  /** From the start to the exit. */
  readonly elapsed: number;
}

/** Options of {@link runInPty}. */
export interface PtyOptions {
  /** Terminal width set with stty before virt-ovf starts. @default 100 */
  readonly columns?: number;
  /** Type Ctrl-C (the pty's line discipline sends SIGINT to the foreground group) `delayMs` after `when` first appears. */
  readonly interrupt?: { readonly when: RegExp; readonly delayMs?: number };
  /** The run is killed (and the test fails on its output) after this long. @default 120000 */
  readonly timeoutMs?: number;
  /** More environment variables (TMPDIR, …). */
  readonly env?: Readonly<Record<string, string>>;
}

/** True when util-linux script(1) can run a command on a pty here. */
export async function ptyAvailable(): Promise<boolean> {
  return new Promise((resolve) => {
    const p = spawn('script', ['-q', '-e', '-c', 'true', '/dev/null'], { stdio: 'ignore' });
    p.on('error', () => resolve(false));
    p.on('exit', (code) => resolve(code === 0));
  });
}

/**
 * Runs `virt-ovf ARGS` (on TEST_URI) as the foreground job of a fresh pty of `columns` columns,
 * with the pty as its stdin, stdout and stderr, and collects what the terminal received.
 */
export function runInPty(args: readonly string[], opts: PtyOptions = {}): Promise<PtyRun> {
  const command = `stty cols ${opts.columns ?? 100} rows 40 && exec ${shellQuote([process.execPath, CLI, ...args])}`;
  const started = Date.now();
  const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, LIBVIRT_DEFAULT_URI: TEST_URI, TERM: 'xterm', ...opts.env },
  });
  let output = '';
  let interruptedAt: number | undefined;
  let armed = opts.interrupt !== undefined;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (armed && opts.interrupt!.when.test(output)) {
        armed = false;
        setTimeout(() => {
          interruptedAt = Date.now() - started;
          child.stdin.write('\x03');
        }, opts.interrupt!.delayMs ?? 0);
      }
    });
    child.stdin.on('error', () => undefined); // Ctrl-C typed after the exit
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolve({ code, output, elapsed: Date.now() - started, ...(interruptedAt !== undefined ? { interruptedAt } : {}) });
    });
  });
}
