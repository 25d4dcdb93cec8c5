// Limits on untrusted disk images: the largest virtual size believed, the resources a qemu-img may use, free space.
import { accessSync, constants } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { LibvirtSetupError } from '../errors.js';
import type { StoragePool } from '../libvirt/index.js';

/** Largest virtual size an image may claim: 2^50 bytes (1 PiB). Anything above is refused. */
export const MAX_VIRTUAL_SIZE_BYTES = 2 ** 50;

/**
 * How many times the OVF's declared capacity (`ovf:capacity`) an image's own header may claim
 * before it is refused. Generous, because descriptors get their units wrong; but a tiny file
 * claiming 2^60 bytes behind a 1 GiB capacity is an attack on the target pool, not a typo.
 */
export const MAX_CAPACITY_RATIO = 64;

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

let prlimitPath: string | null | undefined;

/** Absolute path of util-linux `prlimit(1)` on $PATH, or null when it is not installed (cached). */
export function findPrlimit(): string | null {
  if (prlimitPath !== undefined) return prlimitPath;
  prlimitPath = null;
  for (const dir of (process.env['PATH'] ?? '/usr/bin:/bin').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, 'prlimit'), constants.X_OK);
      prlimitPath = join(dir, 'prlimit');
      break;
    } catch {
      // not in this directory
    }
  }
  return prlimitPath;
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

/** `bytes` as a number with its binary-unit rendering, e.g. `2147483648 bytes (2.0 GiB)`. */
export function describeBytes(bytes: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let value = bytes;
  let unit = '';
  for (const u of units) {
    if (value < 1024) break;
    value /= 1024;
    unit = u;
  }
  const exact = Number.isInteger(bytes) ? BigInt(bytes).toString() : String(bytes); // 2**60 prints as 1152921504606846976
  return unit ? `${exact} bytes (${value.toFixed(1)} ${unit})` : `${exact} bytes`;
}

/**
 * Why a claimed virtual size is refused, or undefined when it is believable: above
 * MAX_VIRTUAL_SIZE_BYTES, or above MAX_CAPACITY_RATIO × the declared capacity (when declared and > 0).
 */
export function virtualSizeProblem(virtualSizeBytes: number, capacityBytes?: number): string | undefined {
  if (!Number.isSafeInteger(virtualSizeBytes) || virtualSizeBytes > MAX_VIRTUAL_SIZE_BYTES) {
    return `its header claims a virtual size of ${describeBytes(virtualSizeBytes)}, above the limit of ${describeBytes(MAX_VIRTUAL_SIZE_BYTES)}`;
  }
  if (capacityBytes !== undefined && capacityBytes > 0 && virtualSizeBytes > capacityBytes * MAX_CAPACITY_RATIO) {
    return `its header claims a virtual size of ${describeBytes(virtualSizeBytes)}, more than ${MAX_CAPACITY_RATIO} times the ${describeBytes(capacityBytes)} the descriptor declares (ovf:capacity)`;
  }
  return undefined;
}

/**
 * Refuses a conversion that cannot fit: `neededBytes` against the free space of a libvirt pool
 * (virStoragePoolRefresh, best effort — it fails while another volume is being built — then
 * virStoragePoolGetInfo's `available`; for a dir pool libvirt counts f_bfree, blocks reserved
 * for root included, which is what root's qemu-img can fill) or of a directory (statfs(2):
 * f_bavail × f_bsize, what an unprivileged writer can fill).
 * `what` names the thing needing the space in the message, e.g. `disk 1 (disk1.vmdk)`.
 * @throws LibvirtSetupError (exit 4) "WHAT needs N bytes but pool X has only M bytes free",
 *   or when the pool is not running; LibvirtError when libvirt fails.
 */
export async function checkFreeSpace(target: StoragePool | { readonly dir: string }, neededBytes: number, what: string): Promise<void> {
  let free: number;
  let where: string;
  if ('dir' in target) {
    const st = await statfs(target.dir).catch((err: Error) => Promise.reject(new LibvirtSetupError(`cannot measure the free space of ${target.dir}: ${err.message}`, { cause: err })));
    free = st.bavail * st.bsize;
    where = `directory ${target.dir}`;
  } else {
    await target.refresh().catch(() => undefined);
    const info = await target.info();
    where = `pool "${target.name()}"`;
    if (info.state !== 2) throw new LibvirtSetupError(`${where} is not running (virStoragePoolState ${info.state}); start it with: virsh pool-start ${target.name()}`);
    free = info.availableBytes;
  }
  if (neededBytes > free) {
    throw new LibvirtSetupError(`${what} needs ${describeBytes(neededBytes)} but ${where} has only ${describeBytes(free)} free; free some space, or choose another pool (--pool) or directory (--output-dir)`);
  }
}
