// Child processes die with virt-ovf (util-linux setpriv --pdeathsig KILL), and are journaled while they run.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { recordInActive } from './journal.js';
import { startTimeOf } from './process-identity.js';

const found = new Map<string, string | null>();

/** True when `path` is executable. */
function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Path of executable `name` (checked as given when it holds a `/`), or null when not found on $PATH (cached by name and $PATH). */
export function findExecutable(name: string): string | null {
  if (name.includes('/')) return executable(name) ? name : null;
  const key = `${name}\0${process.env['PATH'] ?? ''}`;
  const hit = found.get(key);
  if (hit !== undefined) return hit;
  const dir = (process.env['PATH'] ?? '/usr/bin:/bin').split(delimiter).find((d) => d !== '' && executable(join(d, name)));
  const path = dir === undefined ? null : join(dir, name);
  found.set(key, path);
  return path;
}

/**
 * The command line that runs `file args` so that the kernel kills it (SIGKILL) when virt-ovf
 * dies, however it dies: `setpriv --pdeathsig KILL -- file args` (util-linux setpriv(1) sets
 * PR_SET_PDEATHSIG and execs `file`: same pid, so a kill or timeout still reaches it). The
 * death signal survives further execs (prlimit(1) → qemu-img). When setpriv is missing, or
 * `file` is not found (so the caller still sees ENOENT and says what to install), the command
 * runs as is.
 */
export function diesWithParent(file: string, args: readonly string[]): { file: string; args: string[] } {
  const setpriv = findExecutable('setpriv');
  if (setpriv === null || findExecutable(file) === null) return { file, args: [...args] };
  return { file: setpriv, args: ['--pdeathsig', 'KILL', '--', file, ...args] };
}

/**
 * Records a running child in the open run journals (pid and start time, so `virt-ovf cleanup`
 * kills it only if it is still the same process); returns what to call once it has exited.
 * A child that has already exited is not recorded.
 */
export function trackChild(pid: number | undefined, command: string): () => void {
  const startTime = pid === undefined ? undefined : startTimeOf(pid);
  if (pid === undefined || startTime === undefined) return () => undefined;
  const ticket = recordInActive({ kind: 'process', pid, startTime, command: command.length > 200 ? `${command.slice(0, 200)}…` : command });
  let done = false;
  return () => {
    if (!done) ticket.forget();
    done = true;
  };
}
