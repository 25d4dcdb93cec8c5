// An image QEMU opens by blockdev options (a json: pseudo-filename) with the --object values they
// refer to: an RBD image (rbd.ts), an iSCSI LUN (iscsi.ts), a local file or block device.
import { statSync } from 'node:fs';

/** QEMU's view of one image: block options, the json: filename, the secret objects, a label and their release. */
export interface QemuImage {
  /** QEMU BlockdevOptions: a raw format node over a protocol node (rbd, iscsi, file, host_device). */
  readonly node: { readonly [key: string]: unknown };
  /** `json:` + node, the filename qemu-img, qemu-nbd and qemu-io open. */
  readonly filename: string;
  /** `--object` values: `secret,id=ID,file=KEYFILE` when the image logs in with a libvirt secret; empty otherwise. */
  readonly objects: readonly string[];
  /** For messages: rbd:CEPHPOOL/IMAGE, iscsi://HOST:PORT/IQN/LUN, a path. */
  readonly label: string;
  /** Removes the key file and its private directory (idempotent, never throws). */
  release(): Promise<void>;
}

/** A raw format node over protocol node `file`, with `objects` and their `release` (called once at most). */
export function rawQemuImage(file: Record<string, unknown>, objects: readonly string[], label: string, release: () => Promise<void>): QemuImage {
  const node = { driver: 'raw', file };
  let released: Promise<void> | undefined;
  return { node, filename: `json:${JSON.stringify(node)}`, objects, label, release: () => (released ??= release()) };
}

/** True when `path` is a block device (false when it is anything else or cannot be read). */
export function isBlockDevice(path: string): boolean {
  try {
    return statSync(path).isBlockDevice();
  } catch {
    return false;
  }
}

/**
 * A local file or block device in format `format` (default raw) as a QemuImage: QEMU's
 * host_device protocol for a block device, file otherwise (so a name holding `:` is never taken
 * for a protocol). No objects; release does nothing.
 */
export function localQemuImage(path: string, format = 'raw'): QemuImage {
  const file = { driver: isBlockDevice(path) ? 'host_device' : 'file', filename: path };
  const node = { driver: format, file };
  return { node, filename: `json:${JSON.stringify(node)}`, objects: [], label: path, release: async () => undefined };
}
