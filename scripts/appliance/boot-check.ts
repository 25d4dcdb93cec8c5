// Boots a disk image under qemu-system-x86_64 (TCG) until the guest prints a marker on COM1.
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';

/** Options of {@link bootUntilMarker}. */
export interface BootOptions {
  /** Disk image to boot (attached as the IDE primary master). */
  disk: string;
  /** Image format passed to `-drive format=`. */
  format: 'raw' | 'vmdk' | 'qcow2';
  /** Text to wait for on the serial console. */
  marker: string;
  /** File the guest's COM1 is written to (created/truncated by QEMU). */
  serialFile: string;
  /** Give up after this many milliseconds. Default 30000. */
  timeoutMs?: number;
}

/** Outcome of {@link bootUntilMarker}. */
export interface BootResult {
  /** Whether the marker appeared on the serial console. */
  found: boolean;
  /** Milliseconds from starting QEMU to seeing the marker (or to giving up). */
  elapsedMs: number;
  /** Everything the guest wrote to COM1. */
  serial: string;
}

/**
 * Boots a disk under `qemu-system-x86_64` with TCG (no KVM needed), polls the serial
 * output file every 20 ms, and stops QEMU as soon as the marker appears or on timeout.
 */
export async function bootUntilMarker(opts: BootOptions): Promise<BootResult> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const drive = `file=${opts.disk.replace(/,/g, ',,')},format=${opts.format},if=ide`;
  const started = performance.now();
  const child = execa(
    'qemu-system-x86_64',
    [
      '-machine', 'pc,accel=tcg',
      '-m', '64',
      '-display', 'none',
      '-nodefaults',
      '-serial', `file:${opts.serialFile}`,
      '-drive', drive,
      '-no-reboot',
    ],
    { reject: false, timeout: timeoutMs + 5_000, forceKillAfterDelay: 2_000 },
  );
  let exited = false;
  const done = child.then((r) => {
    exited = true;
    return r;
  });
  const readSerial = async (): Promise<string> => {
    try {
      return (await readFile(opts.serialFile)).toString('latin1');
    } catch {
      return '';
    }
  };
  let serial = '';
  let found = false;
  let elapsedMs = 0;
  let firstSeenMs: number | undefined;
  for (;;) {
    serial = await readSerial();
    elapsedMs = performance.now() - started;
    const at = serial.indexOf(opts.marker);
    // The guest writes a byte at a time: the line is complete once its end follows the marker (or after 2 s more).
    if (at >= 0 && (serial.includes('\n', at) || elapsedMs > (firstSeenMs ??= elapsedMs) + 2000)) {
      found = true;
      break;
    }
    if (exited || elapsedMs > timeoutMs) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  if (!exited) child.kill('SIGTERM');
  const r = await done;
  if (!found) {
    serial = await readSerial();
    if (exited && !serial.includes(opts.marker) && r.exitCode !== 0 && r.exitCode !== undefined) {
      throw new Error(`qemu-system-x86_64 exited with ${r.exitCode}: ${String(r.stderr)}`);
    }
    found = serial.includes(opts.marker);
  }
  return { found, elapsedMs, serial };
}
