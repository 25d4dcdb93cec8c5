// Resource limits of a qemu-img process on an untrusted image: CPU time, address space (prlimit(1)) and wall clock.
import { findExecutable } from '../journal/children.js';

/** Resource limits of one qemu-img process. */
export interface ProcessLimits {
  /** RLIMIT_CPU, seconds of CPU time: SIGXCPU past it, SIGKILL 5 s later (prlimit --cpu=N:N+5). */
  readonly cpuSeconds: number;
  /** RLIMIT_AS, bytes of address space; allocations fail past it (prlimit --as). */
  readonly addressSpaceBytes: number;
  /** Wall-clock limit in ms; the process is killed (SIGTERM, then SIGKILL 5 s later) past it. */
  readonly timeoutMs: number;
}

/** Environment variable that overrides the wall-clock limit of `qemu-img info` (milliseconds). */
export const TIMEOUT_ENV = 'VIRT_OVF_QEMU_IMG_TIMEOUT_MS';

/**
 * Limits of `qemu-img info` on an untrusted image: 30 s CPU, 1 GiB address space, 60 s wall
 * clock (or `$VIRT_OVF_QEMU_IMG_TIMEOUT_MS`, read at each call), each overridable by `overrides`.
 * Opening an image only parses its metadata: a legitimate one needs a fraction of a second
 * and a few MiB; qemu-img's own start-up (threads, libraries) needs about 100 MiB of address space.
 */
export function infoLimits(overrides: Partial<ProcessLimits> = {}): ProcessLimits {
  const env = Number(process.env[TIMEOUT_ENV]);
  return {
    cpuSeconds: 30,
    addressSpaceBytes: 2 ** 30,
    timeoutMs: Number.isSafeInteger(env) && env > 0 ? env : 60_000,
    ...overrides,
  };
}

/** Absolute path of util-linux `prlimit(1)` on $PATH, or null when it is not installed (cached). */
export function findPrlimit(): string | null {
  return findExecutable('prlimit');
}

/**
 * The command line that runs `file args` under `limits`: `prlimit --cpu=N:N+5 --as=M -- file args`,
 * which sets the limits on itself and then execs `file` (same pid, so a kill on timeout reaches
 * qemu-img). The hard CPU limit is 5 s above the soft one so that the kernel's SIGXCPU, which
 * names the cause, comes first (with equal limits it sends SIGKILL). When prlimit is absent the command runs as is and only the
 * wall-clock timeout (enforced by the caller) applies; `limited` says which happened.
 */
export function limitedCommand(file: string, args: readonly string[], limits: ProcessLimits): { file: string; args: string[]; limited: boolean } {
  const prlimit = findPrlimit();
  if (prlimit === null) return { file, args: [...args], limited: false };
  const cpu = Math.max(1, Math.ceil(limits.cpuSeconds));
  const as = Math.max(1, Math.floor(limits.addressSpaceBytes));
  return { file: prlimit, args: [`--cpu=${cpu}:${cpu + 5}`, `--as=${as}`, '--', file, ...args], limited: true };
}
