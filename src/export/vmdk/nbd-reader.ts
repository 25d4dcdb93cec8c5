// Guest bytes through qemu-nbd: serves a disk image of any format qemu reads (backing chain
// included) read-only on a Unix socket in a private directory, and reads it over NBD. qemu-img
// itself cannot stream raw bytes to a pipe (its output must be a regular file: "Could not resize
// file" for `dd of=/dev/stdout`, "requires a regular file" for a FIFO), so this is how the
// writer reads formats other than raw without a temporary copy. connectNbdReader reads a disk
// already served for the whole export (src/export/source-server.ts).

import { ToolError } from '../../errors.js';
import { connectNbd } from '../../nbd/byte-queue.js';
import { NbdClient } from '../../nbd/client.js';
import type { ImageFormat } from '../../storage/qemu-img.js';
import { openQemuNbd } from '../../transfer/qemu-nbd.js';

/** Random access to the guest bytes of an image served by qemu-nbd. */
export interface NbdReader {
  /** Size of the export (the virtual size), in bytes. */
  readonly sizeBytes: number;
  /** Fills `target[0, length)` with guest bytes from `offset` (bytes); bytes past the end read as zeros. Reads may overlap. */
  read(offset: number, target: Uint8Array, length: number): Promise<void>;
  /** Disconnects and stops qemu-nbd, removing the socket directory. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Serves `path` (format `format`, backing chain included) read-only with qemu-nbd on a Unix
 * socket in a fresh private directory (src/transfer/qemu-nbd.ts), and reads it over NBD.
 * qemu-nbd exits when the connection closes; close() also kills it if needed and removes the
 * directory. No disk space is used besides the socket.
 * @throws ToolError when qemu-nbd is missing, cannot open the image or does not start in time.
 */
export async function openNbdReader(path: string, format: ImageFormat, signal?: AbortSignal): Promise<NbdReader> {
  const server = await openQemuNbd({ kind: 'path', path, format }, { readOnly: true, ...(signal ? { signal } : {}) });
  const { client } = server;
  let closed = false;
  return {
    sizeBytes: client.sizeBytes,
    read: (offset, target, length) =>
      client.read(offset, target, length).catch(async (err: unknown) => {
        throw signal?.aborted ? signal.reason : await server.failure(err);
      }),
    async close() {
      if (closed) return;
      closed = true;
      await server.close().catch(() => server.kill());
    },
  };
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
