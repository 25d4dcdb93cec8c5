// qemu-nbd serving one image on a Unix socket in a private journaled directory, as a child that
// dies with virt-ovf and is journaled while it runs; the one NBD connection it accepts is the
// caller's. Writable for the import (qemu writes the volume's format: qcow2, raw, a block device,
// an RBD image through --image-opts), read-only for the export's reader.
import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ToolError } from '../errors.js';
import { diesWithParent, trackChild } from '../journal/children.js';
import { makeTempDir } from '../journal/tracked.js';
import { connectNbd, type ByteQueue } from '../nbd/byte-queue.js';
import { NbdClient } from '../nbd/client.js';
import type { Socket } from 'node:net';
import { isBlockDevice } from './qemu-image.js';

const QEMU_NBD = process.env['VIRT_OVF_QEMU_NBD'] ?? 'qemu-nbd';
/** How long qemu-nbd may take to open the image and listen, in milliseconds. */
const START_TIMEOUT_MS = 30_000;
/** Pause between connection attempts while qemu-nbd starts, in milliseconds. */
const POLL_MS = 10;
/** How long qemu-nbd may take to close the image (write qcow2 metadata) after the disconnect, in milliseconds. */
const EXIT_TIMEOUT_MS = 120_000;

/** The image qemu-nbd serves. */
export type NbdImage =
  /** A file or block device (a pool volume) in format `format`; a block device is opened with QEMU's host_device driver. */
  | { readonly kind: 'path'; readonly path: string; readonly format: string }
  /**
   * Blockdev options as QEMU's json: pseudo-filename takes them (e.g. `{driver: 'raw', file:
   * {driver: 'rbd', pool, image, user, 'key-secret': 'sec0'}}`), with the `--object`s they
   * refer to (e.g. `secret,id=sec0,file=/path/key`); `label` names it in messages.
   */
  | { readonly kind: 'image-opts'; readonly options: Readonly<Record<string, unknown>>; readonly objects?: readonly string[]; readonly label: string };

/** How qemu-nbd opens the image. */
export interface QemuNbdOptions {
  /** Serve read-only (`--read-only`); default false. */
  readonly readOnly?: boolean;
  /** `--cache` mode; default 'unsafe' for a writable image (flushes are no-ops: qemu-img convert's default), else qemu-nbd's. */
  readonly cache?: 'none' | 'writeback' | 'writethrough' | 'directsync' | 'unsafe';
  /** `--discard=unmap --detect-zeroes=unmap`: zero writes become holes where the image can keep them; default true when writable (NbdSink: only for a target that does not read as zeros by itself). */
  readonly unmap?: boolean;
  readonly signal?: AbortSignal;
}

/** One connection to a running qemu-nbd. */
export interface QemuNbd {
  readonly client: NbdClient;
  /** The command line, for messages. */
  readonly command: string;
  /** What the image is, for messages. */
  readonly label: string;
  /**
   * The error to report for a failed NBD request: qemu-nbd's own message when it exits within a
   * second (a ToolError), else `err` as a ToolError naming the image.
   */
  failure(err: unknown): Promise<ToolError>;
  /**
   * Disconnects and waits for qemu-nbd to close the image and exit; removes the socket directory.
   * @throws ToolError when qemu-nbd exits with a failure or does not exit in time (it is killed).
   */
  close(): Promise<void>;
  /** Kills qemu-nbd (if running) and removes the socket directory; never throws. Safe after close(). */
  kill(): Promise<void>;
}

/** Resolves when `child` has exited (immediately if it already has), or after `timeoutMs` at most. */
export function exited(child: ChildProcess, timeoutMs = Infinity): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      child.removeListener('exit', done);
      resolve();
    };
    const timer = Number.isFinite(timeoutMs) ? setTimeout(done, timeoutMs) : undefined;
    child.once('exit', done);
  });
}

/** qemu-nbd's arguments for `image` at `socket`. */
export function qemuNbdArgs(image: NbdImage, socket: string, opts: QemuNbdOptions = {}): string[] {
  const writable = opts.readOnly !== true;
  const cache = opts.cache ?? (writable ? 'unsafe' : undefined);
  const args = [`--socket=${socket}`, '--shared=1', ...(writable ? [] : ['--read-only'])];
  if (cache) args.push(`--cache=${cache}`);
  if (writable && opts.unmap !== false) args.push('--discard=unmap', '--detect-zeroes=unmap');
  if (image.kind === 'image-opts') {
    for (const o of image.objects ?? []) args.push('--object', o);
    args.push(`json:${JSON.stringify(image.options)}`);
    return args;
  }
  const driver = isBlockDevice(image.path) ? 'host_device' : 'file';
  args.push(`--format=${image.format}`, `json:${JSON.stringify({ file: { driver, filename: image.path } })}`);
  return args;
}

/**
 * Starts qemu-nbd on `image` (socket in a fresh private directory below $TMPDIR, journaled; the
 * child dies with virt-ovf and is journaled while it runs) and connects to it.
 * @throws ToolError when qemu-nbd is missing, cannot open the image (its message) or does not
 *   start in time; the signal's reason when aborted (qemu-nbd is stopped, the directory removed).
 */
export async function openQemuNbd(image: NbdImage, opts: QemuNbdOptions = {}): Promise<QemuNbd> {
  const label = image.kind === 'path' ? image.path : image.label;
  // A Unix socket path holds at most 107 bytes: fall back to /tmp under a long $TMPDIR.
  const { dir, release } = await makeTempDir(tmpdir().length > 70 ? '/tmp' : tmpdir(), 'virt-ovf-nbd-');
  const socketPath = join(dir, 'nbd.sock');
  const args = qemuNbdArgs(image, socketPath, opts);
  const command = `${QEMU_NBD} ${args.join(' ')}`;
  const guarded = diesWithParent(QEMU_NBD, args);
  const child = spawn(guarded.file, guarded.args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const untrack = trackChild(child.pid, command);
  child.once('exit', untrack);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    if (stderr.length < 8192) stderr += s;
  });
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));

  let killed: Promise<void> | undefined;
  const kill = (): Promise<void> =>
    (killed ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = exited(child);
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.kill('SIGTERM');
        await gone;
        clearTimeout(timer);
      }
      untrack();
      await release().catch(() => undefined);
    })());
  /** qemu-nbd's own complaint once it has exited with a failure. */
  const died = (): ToolError | undefined => {
    if (child.exitCode === null && child.signalCode === null) return undefined;
    if (child.exitCode === 0) return undefined;
    const said = stderr.trim().replace(/^qemu-nbd: /gm, '') || `exit ${child.exitCode ?? child.signalCode}`;
    return new ToolError(`qemu-nbd could not serve ${label}: ${said}`, { command, ...(child.exitCode !== null ? { exitCode: child.exitCode } : {}), stderr });
  };
  const failure = async (err: unknown): Promise<ToolError> => {
    await exited(child, 1000);
    return died() ?? new ToolError(`NBD transfer to ${label} failed: ${err instanceof Error ? err.message : String(err)}`, { command, stderr, cause: err });
  };

  let connection: { socket: Socket; bytes: ByteQueue } | undefined;
  try {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!connection) {
      opts.signal?.throwIfAborted();
      if (spawnError) {
        const code = (spawnError as NodeJS.ErrnoException).code;
        throw new ToolError(code === 'ENOENT' ? 'qemu-nbd not found: install it (Debian: apt-get install qemu-utils)' : `qemu-nbd failed to start: ${spawnError.message}`, { command, cause: spawnError });
      }
      if (child.exitCode !== null || child.signalCode !== null) throw died() ?? new ToolError(`qemu-nbd exited before serving ${label}`, { command, stderr });
      if (Date.now() > deadline) throw new ToolError(`qemu-nbd did not start listening within ${START_TIMEOUT_MS / 1000} s`, { command, stderr });
      connection = await connectNbd(socketPath).catch(() => undefined);
      if (!connection) await sleep(POLL_MS);
    }
    const { socket } = connection;
    // qemu-nbd may accept the connection and then fail to open the image: report its message.
    const client = await NbdClient.negotiate(socket, connection.bytes).catch(async (err: unknown) => {
      socket.destroy();
      throw opts.signal?.aborted ? opts.signal.reason : await failure(err);
    });
    let closing: Promise<void> | undefined;
    const close = (): Promise<void> =>
      (closing ??= (async () => {
        await client.disconnect().catch(() => undefined);
        // qemu-nbd closes the image (qcow2 metadata, caches) and exits once the connection is gone.
        await exited(child, EXIT_TIMEOUT_MS);
        socket.destroy();
        const running = child.exitCode === null && child.signalCode === null;
        const error = running ? new ToolError(`qemu-nbd did not close ${label} within ${EXIT_TIMEOUT_MS / 1000} s`, { command, stderr }) : died();
        await kill();
        if (error) throw error;
      })());
    return { client, command, label, failure, close, kill: async () => (socket.destroy(), kill()) };
  } catch (err) {
    connection?.socket.destroy();
    await kill();
    throw opts.signal?.aborted ? opts.signal.reason : err;
  }
}
