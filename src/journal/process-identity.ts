// Which process a pid is: its start time (proc(5) /proc/PID/stat field 22) and the boot it belongs to.
import { readFileSync } from 'node:fs';

/** A process as the kernel tells it apart from a later one that reuses its pid. */
export interface ProcessIdentity {
  readonly pid: number;
  /** Start time after boot, in clock ticks (proc(5), /proc/PID/stat field 22), as a decimal string. */
  readonly startTime: string;
  /** /proc/sys/kernel/random/boot_id of the boot the process ran in. */
  readonly bootId: string;
}

let boot: string | undefined;

/** This boot's id (/proc/sys/kernel/random/boot_id). */
export function bootId(): string {
  boot ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  return boot;
}

/**
 * The start time of process `pid` (field 22 of /proc/PID/stat, counted after the `)` that ends
 * the command name, which may itself hold spaces and parentheses), or undefined when no such
 * process exists or it has exited (state Z, zombie, or X, dead: no longer running, only not
 * yet reaped).
 */
export function startTimeOf(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so field 22 is fields[19].
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
  return fields[19];
}

/** The identity of process `pid` now, or undefined when it does not exist. */
export function identityOf(pid: number): ProcessIdentity | undefined {
  const startTime = startTimeOf(pid);
  return startTime === undefined ? undefined : { pid, startTime, bootId: bootId() };
}

/** True when `who` still runs: same boot, and its pid names a process with the same start time (not a reused pid). */
export function isRunning(who: ProcessIdentity): boolean {
  return who.bootId === bootId() && startTimeOf(who.pid) === who.startTime;
}
