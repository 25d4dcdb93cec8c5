// Watches the real qemu-img from outside: a shell wrapper that logs each argument vector to a
// file and execs the system qemu-img, put first in PATH (for the code under test in this process)
// or given to the CLI as VIRT_OVF_QEMU_IMG. Production code carries no hook for it.
import { accessSync, chmodSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** Environment variable naming the log file the wrapper appends to (unset: it only execs). */
export const QEMU_LOG_ENV = 'VIRT_OVF_TEST_QEMU_LOG';

const US = '\x1f'; // between arguments
const RS = '\x1e'; // after each invocation

let system: string | undefined;

/** Absolute path of the system qemu-img: the first executable `qemu-img` in PATH that is not a wrapper of ours. */
export function systemQemuImg(): string {
  if (system) return system;
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const path = join(dir, 'qemu-img');
    if (dir === '' || dir.includes('virt-ovf-qemu-log-')) continue;
    try {
      accessSync(path, constants.X_OK);
      return (system = path);
    } catch {
      // not here
    }
  }
  throw new Error('qemu-img is not installed (Debian: apt-get install qemu-utils)');
}

/**
 * Writes an executable `qemu-img` wrapper into a fresh directory and returns its path: when
 * $VIRT_OVF_TEST_QEMU_LOG is set it appends its argv there (one write per invocation, arguments
 * separated by 0x1F, invocations ended by 0x1E), then execs the system qemu-img.
 */
export function writeQemuImgWrapper(): string {
  const dir = mkdtempSync(join(tmpdir(), 'virt-ovf-qemu-log-'));
  const wrapper = join(dir, 'qemu-img');
  writeFileSync(
    wrapper,
    `#!/bin/sh\nif [ -n "$${QEMU_LOG_ENV}" ]; then\n  rec=''\n  for a in "$@"; do rec="$rec$a$(printf '\\037')"; done\n  printf '%s\\036' "$rec" >> "$${QEMU_LOG_ENV}"\nfi\nexec '${systemQemuImg()}' "$@"\n`,
  );
  chmodSync(wrapper, 0o755);
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return wrapper;
}

/** The argument vectors (after `qemu-img`) a log file holds, in the order they were written. */
export function readQemuLog(path: string): string[][] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return text.split(RS).filter((s) => s !== '').map((s) => s.split(US).slice(0, -1));
}

/** The qemu-img runs of this process, seen through the wrapper. */
export interface QemuImgLog {
  /** Every argument vector logged so far. */
  calls(): string[][];
  /** Position to pass to {@link since}. */
  mark(): number;
  /** The argument vectors logged after `mark`. */
  since(mark: number): string[][];
}

let installed: QemuImgLog | undefined;

/**
 * Puts the logging wrapper first in this process's PATH (the adapter runs `qemu-img` by name,
 * resolved at each spawn) and returns the log. Refuses to run when VIRT_OVF_QEMU_IMG is set,
 * since the adapter would then bypass PATH. Call it once per test file, before the code under test runs.
 */
export function logQemuImg(): QemuImgLog {
  if (installed) return installed;
  if (process.env['VIRT_OVF_QEMU_IMG'] !== undefined) throw new Error('unset VIRT_OVF_QEMU_IMG: these tests watch qemu-img through PATH');
  const wrapper = writeQemuImgWrapper();
  const log = join(wrapper, '..', 'calls.log');
  writeFileSync(log, '');
  process.env[QEMU_LOG_ENV] = log;
  process.env['PATH'] = `${join(wrapper, '..')}${delimiter}${process.env['PATH'] ?? ''}`;
  const calls = () => readQemuLog(log);
  installed = { calls, mark: () => calls().length, since: (mark) => calls().slice(mark) };
  return installed;
}
