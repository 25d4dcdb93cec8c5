// Copies an image in any format qemu reads into a DiskSink: qemu-nbd serves the guest bytes
// read-only, `qemu-img map` gives the allocation (block status), data runs are read over NBD.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ToolError } from '../errors.js';
import { connectNbd, NbdClient } from '../export/vmdk/nbd-client.js';
import { diesWithParent, trackChild } from '../journal/children.js';
import { makeTempDir } from '../journal/tracked.js';
import type { DiskSink } from '../storage/sink.js';
import { imageMap, sourceFilename, type ImageSource } from '../storage/qemu-img.js';

const QEMU_NBD = process.env['VIRT_OVF_QEMU_NBD'] ?? 'qemu-nbd';
/** Bytes per NBD read (the sink gathers them into its own chunks). */
const READ_BYTES = 4 * 2 ** 20;
/** How long qemu-nbd may take to open the image and listen, in milliseconds. */
const START_TIMEOUT_MS = 30_000;

/** A read-only qemu-nbd on a Unix socket in a private directory, serving `source`'s guest bytes. */
async function serveReadOnly(source: ImageSource, signal: AbortSignal): Promise<{ socket: string; close(): Promise<void> }> {
  const tracked = await makeTempDir(tmpdir().length > 70 ? '/tmp' : tmpdir(), 'virt-ovf-src-');
  const socket = join(tracked.dir, 'nbd.sock');
  const pidFile = join(tracked.dir, 'pid');
  const args = ['--read-only', '--format', source.format, '--socket', socket, '--pid-file', pidFile, sourceFilename(source)];
  const run = diesWithParent(QEMU_NBD, args);
  const command = `${QEMU_NBD} ${args.join(' ')}`;
  const child = spawn(run.file, run.args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const untrack = trackChild(child.pid, command);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-4096)));
  const exited = new Promise<void>((ok) => child.once('close', () => ok()));
  child.once('error', () => undefined);
  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    untrack();
    await tracked.release();
  };
  try {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!existsSync(pidFile)) {
      signal.throwIfAborted();
      if (child.exitCode !== null || child.signalCode !== null) throw new ToolError(`qemu-nbd cannot serve ${source.label ?? source.path}: ${stderr.trim() || `exit ${child.exitCode ?? child.signalCode}`}`, { command, stderr });
      if (Date.now() > deadline) throw new ToolError(`qemu-nbd did not open ${source.label ?? source.path} within ${START_TIMEOUT_MS / 1000} s`, { command, stderr });
      await sleep(10);
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { socket, close };
}

/**
 * Writes the guest bytes of `source` into `sink` in ascending order: each run `qemu-img map`
 * reports as data is read over NBD from a read-only qemu-nbd and written, each run that reads as
 * zeros becomes sink.zero(). Does not finish or abort the sink (the caller does). `onProgress`
 * receives the guest bytes done so far.
 * @throws ToolError when qemu-nbd or qemu-img fails; the sink's errors; the signal's reason.
 */
export async function copyImageToSink(source: ImageSource, sink: DiskSink, opts: { signal: AbortSignal; onProgress?: (bytesDone: number) => void }): Promise<void> {
  const { signal } = opts;
  const served = await serveReadOnly(source, signal);
  try {
    const { socket, bytes } = await connectNbd(served.socket);
    const client = await NbdClient.negotiate(socket, bytes);
    const onAbort = () => socket.destroy(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const buffer = Buffer.allocUnsafe(READ_BYTES);
      for await (const run of imageMap(source.path, source.format, { signal, filename: sourceFilename(source) })) {
        const end = Math.min(run.start + run.length, sink.capacityBytes);
        if (run.start >= end) continue;
        if (!run.data || run.zero) await sink.zero(run.start, end - run.start);
        else {
          for (let offset = run.start; offset < end; offset += READ_BYTES) {
            signal.throwIfAborted();
            const length = Math.min(READ_BYTES, end - offset);
            await client.read(offset, buffer, length);
            await sink.write(offset, buffer.subarray(0, length));
            opts.onProgress?.(offset + length);
          }
        }
        opts.onProgress?.(end);
      }
      signal.throwIfAborted();
    } finally {
      signal.removeEventListener('abort', onAbort);
      await client.disconnect().catch(() => undefined);
      socket.destroy();
    }
  } finally {
    await served.close();
  }
}
