// Guest bytes through qemu-nbd: serves a disk image of any format qemu reads (backing chain
// included) read-only on a Unix socket in a private directory, and reads it over NBD. qemu-img
// itself cannot stream raw bytes to a pipe (its output must be a regular file: "Could not resize
// file" for `dd of=/dev/stdout`, "requires a regular file" for a FIFO), so this is how the
// writer reads formats other than raw without a temporary copy. connectNbdReader reads a disk
// already served for the whole export (src/export/source-server.ts).

import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ToolError } from '../../errors.js';
import { diesWithParent, trackChild } from '../../journal/children.js';
import { makeTempDir } from '../../journal/tracked.js';
import { localImageFilename, type ImageFormat } from '../../storage/qemu-img.js';
import { connectNbd, type ByteQueue } from '../../nbd/byte-queue.js';
import { NbdClient } from '../../nbd/client.js';

/** Random access to the guest bytes of an image served by qemu-nbd. */
export interface NbdReader {
  /** Size of the export (the virtual size), in bytes. */
  readonly sizeBytes: number;
  /** Fills `target[0, length)` with guest bytes from `offset` (bytes); bytes past the end read as zeros. Reads may overlap. */
  read(offset: number, target: Uint8Array, length: number): Promise<void>;
  /** Disconnects and stops qemu-nbd, removing the socket directory. Safe to call twice. */
  close(): Promise<void>;
}

const QEMU_NBD = process.env['VIRT_OVF_QEMU_NBD'] ?? 'qemu-nbd';
/** How long qemu-nbd may take to open the image and listen, in milliseconds. */
const NBD_START_TIMEOUT_MS = 30_000;
/** Pause between connection attempts while qemu-nbd starts, in milliseconds. */
const NBD_POLL_MS = 10;

/** Resolves when `child` has exited (immediately if it already has), or after `timeoutMs` at most. */
function exited(child: ChildProcess, timeoutMs = Infinity): Promise<void> {
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

/**
 * Serves `path` (format `format`, backing chain included) read-only with qemu-nbd on a Unix
 * socket in a fresh private directory, and reads it over NBD. qemu-nbd exits when the
 * connection closes; close() also kills it if needed and removes the directory. No disk space
 * is used besides the socket.
 * @throws ToolError when qemu-nbd is missing, cannot open the image or does not start in time.
 */
export async function openNbdReader(path: string, format: ImageFormat, signal?: AbortSignal): Promise<NbdReader> {
  // A Unix socket path holds at most 107 bytes: fall back to /tmp under a long $TMPDIR.
  const parent = tmpdir().length > 70 ? '/tmp' : tmpdir();
  const { dir, release } = await makeTempDir(parent, 'virt-ovf-nbd-');
  const socketPath = join(dir, 'nbd.sock');
  const args = ['--read-only', `--format=${format}`, `--socket=${socketPath}`, '--shared=1', localImageFilename(path)];
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

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = exited(child);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.kill('SIGTERM');
      await gone;
      clearTimeout(timer);
    }
    untrack();
    await release();
  };

  /** The error to report when qemu-nbd has exited: its own message. */
  const died = (): ToolError | undefined =>
    child.exitCode !== null || child.signalCode !== null
      ? new ToolError(`qemu-nbd could not serve ${path}: ${stderr.trim().replace(/^qemu-nbd: /, '') || `exit ${child.exitCode ?? child.signalCode}`}`, {
          command,
          ...(child.exitCode !== null ? { exitCode: child.exitCode } : {}),
          stderr,
        })
      : undefined;
  /** A ToolError for an NBD failure, preferring qemu-nbd's message when it exits right after. */
  const nbdFailure = async (err: unknown): Promise<unknown> => {
    if (signal?.aborted) return signal.reason;
    await exited(child, 1000);
    return died() ?? new ToolError(`reading ${path} through qemu-nbd failed: ${err instanceof Error ? err.message : String(err)}`, { command, stderr, cause: err });
  };

  try {
    const deadline = Date.now() + NBD_START_TIMEOUT_MS;
    let connection: { socket: Socket; bytes: ByteQueue } | undefined;
    while (!connection) {
      signal?.throwIfAborted();
      if (spawnError) {
        const code = (spawnError as NodeJS.ErrnoException).code;
        throw new ToolError(code === 'ENOENT' ? 'qemu-nbd not found: install it (Debian: apt-get install qemu-utils)' : `qemu-nbd failed to start: ${spawnError.message}`, { command, cause: spawnError });
      }
      const error = died();
      if (error) throw error;
      if (Date.now() > deadline) throw new ToolError(`qemu-nbd did not start listening within ${NBD_START_TIMEOUT_MS / 1000} s`, { command, stderr });
      connection = await connectNbd(socketPath).catch(() => undefined);
      if (!connection) await sleep(NBD_POLL_MS);
    }
    const connected = connection.socket;
    // qemu-nbd may accept the connection and then fail to open the image: report its message.
    const client = await NbdClient.negotiate(connected, connection.bytes).catch(async (err: unknown) => {
      connected.destroy();
      throw await nbdFailure(err);
    });
    let closed = false;
    return {
      sizeBytes: client.sizeBytes,
      read: (offset, target, length) =>
        client.read(offset, target, length).catch(async (err: unknown) => {
          throw await nbdFailure(err);
        }),
      async close() {
        if (closed) return;
        closed = true;
        await client.disconnect().catch(() => undefined);
        await exited(child, 2000); // qemu-nbd exits by itself once the connection closes
        connected.destroy();
        await stop();
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Reads the default export of an NBD server already listening on Unix socket `socketPath`
 * (a disk served for the whole export by source-server.ts); close() only disconnects.
 * `label` names the disk in messages.
 * @throws ToolError when the server cannot be reached or refuses the export, or a read fails.
 */
export async function connectNbdReader(socketPath: string, label: string): Promise<NbdReader> {
  const failure = (err: unknown): ToolError => new ToolError(`reading ${label} over NBD failed: ${err instanceof Error ? err.message : String(err)}`, { command: `nbd+unix:///?socket=${socketPath}`, cause: err });
  const { socket, bytes } = await connectNbd(socketPath).catch((err: unknown) => Promise.reject(failure(err)));
  const client = await NbdClient.negotiate(socket, bytes).catch((err: unknown) => {
    socket.destroy();
    throw failure(err);
  });
  let closed = false;
  return {
    sizeBytes: client.sizeBytes,
    read: (offset, target, length) => client.read(offset, target, length).catch((err: unknown) => Promise.reject(failure(err))),
    async close() {
      if (closed) return;
      closed = true;
      await client.disconnect().catch(() => undefined);
      socket.destroy();
    },
  };
}
