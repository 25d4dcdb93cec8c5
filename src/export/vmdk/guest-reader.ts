// Reads the guest-visible bytes of the data ranges of a disk image, without temporary files:
// a raw image, and the clusters of a qcow2 image that qemu-img map locates in the file itself,
// with positioned reads of the file; everything else (compressed or encrypted clusters, backing
// files, external data files, other formats) through qemu-nbd, started on first need.

import { open, type FileHandle } from 'node:fs/promises';
import { imageInfo, type ImageFormat, type ImageInfo } from '../../storage/qemu-img.js';
import type { Segment } from './batches.js';
import { connectNbdReader, openNbdReader, type NbdReader } from './nbd-reader.js';

/** A disk served over NBD for the whole export (src/export/source-server.ts). */
export interface ServedDisk {
  /** Unix socket of the NBD server (default export). */
  readonly socket: string;
  /** json: pseudo-filename qemu-img opens with -f raw to read the served guest bytes. */
  readonly filename: string;
}

/** Random access to the data ranges of a disk. */
export interface GuestReader {
  /** Virtual size of the disk, in bytes. */
  readonly sizeBytes: number;
  /** How the bytes were read so far, for reports: `raw file`, `qcow2 file`, `qemu-nbd` (or `NBD`: a served disk), or two joined by `+`. */
  readonly method: string;
  /**
   * Fills `target[0, length)` with the guest bytes from offset `base` (bytes): the ranges in
   * `segments` are read, the rest is zeros (as the map says). Calls may overlap.
   */
  readSegments(base: number, target: Uint8Array, length: number, segments: readonly Segment[]): Promise<void>;
  /** Closes the file and stops qemu-nbd. Safe to call twice. */
  close(): Promise<void>;
}

/** Reads `length` bytes at `position` of `fh` into `target` from `at`; past the end of the file, zeros. */
async function readFully(fh: FileHandle, target: Uint8Array, at: number, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(target, at + done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  target.fill(0, at + done, at + length);
}

/** A run of segments read the same way: from the file at `host`, or through NBD when `host` is undefined. */
interface Run {
  start: number;
  end: number;
  host: number | undefined;
}

/**
 * Opens `path` for reading its guest bytes. For raw images every range is read from the file.
 * For qcow2 images without encryption or an external data file, ranges that `qemu-img map`
 * places at depth 0 with a host offset and not compressed are read from the file too; other
 * ranges, and every range of other formats, go through qemu-nbd (started on first need, with
 * the backing chain).
 * `known` is the image's `qemu-img info` when the caller already has it (not asked again).
 * With `served`, NBD reads go to that server instead of a qemu-nbd of its own; unless
 * `served.direct` (`path` is the top image, a local file or block device), nothing is read
 * from `path` and every range comes over NBD (`known` then gives the size, else the server).
 * @throws ToolError when qemu-img cannot open the image; errors of open(2) on the file.
 */
export async function openGuestReader(path: string, format: ImageFormat, signal?: AbortSignal, known?: ImageInfo, served?: ServedDisk & { direct: boolean }): Promise<GuestReader> {
  let sizeBytes: number;
  let direct: (s: Segment) => number | undefined;
  let fh: FileHandle | undefined;
  if (served && !served.direct) {
    sizeBytes = known?.virtualSizeBytes ?? (await imageInfo({ path, offset: 0, size: 0, format: 'raw', wholeFile: true, label: path, filename: served.filename }, signal ? { signal } : {})).virtualSizeBytes;
    direct = () => undefined;
  } else if (format === 'raw') {
    fh = await open(path, 'r');
    const st = await fh.stat().catch(async (err: unknown) => {
      await fh!.close();
      throw err;
    });
    if (st.isBlockDevice()) {
      sizeBytes = known?.virtualSizeBytes ?? (await imageInfo({ path, offset: 0, size: 0, format, wholeFile: true, label: path }, signal ? { signal } : {}).catch(async (err: unknown) => {
        await fh!.close();
        throw err;
      })).virtualSizeBytes;
    } else sizeBytes = st.size;
    direct = (s) => s.hostOffset ?? s.start;
  } else {
    const info = known ?? (await imageInfo({ path, offset: 0, size: 0, format, wholeFile: true, label: path }, signal ? { signal } : {}));
    sizeBytes = info.virtualSizeBytes;
    const specific = (info.raw['format-specific'] as { data?: Record<string, unknown> } | undefined)?.data ?? {};
    const inPlace = format === 'qcow2' && info.raw['encrypted'] !== true && specific['data-file'] === undefined && specific['encrypt'] === undefined;
    if (inPlace) fh = await open(path, 'r');
    direct = (s) => (inPlace && s.depth === 0 && !s.compressed ? s.hostOffset : undefined);
  }

  let nbd: Promise<NbdReader> | undefined;
  const used = new Set<string>();
  const fileMethod = `${format} file`;
  let closed = false;
  return {
    sizeBytes,
    get method() {
      return [...used].join(' + ') || (format === 'raw' ? 'raw file' : 'none (no data)');
    },
    async readSegments(base, target, length, segments) {
      target.fill(0, 0, length);
      const runs: Run[] = [];
      for (const s of segments) {
        const host = direct(s);
        const last = runs.at(-1);
        const contiguous = last && last.end === s.start && (host === undefined ? last.host === undefined : last.host !== undefined && last.host + (last.end - last.start) === host);
        if (contiguous) last.end = s.start + s.length;
        else runs.push({ start: s.start, end: s.start + s.length, host });
      }
      await Promise.all(
        runs.map(async (r) => {
          const at = r.start - base;
          if (at < 0 || r.end - base > length) throw new RangeError(`segment ${r.start}-${r.end} outside the batch at ${base}`);
          if (r.host !== undefined && fh) {
            used.add(fileMethod);
            return readFully(fh, target, at, r.end - r.start, r.host);
          }
          used.add(served ? 'NBD' : 'qemu-nbd');
          nbd ??= served ? connectNbdReader(served.socket, path) : openNbdReader(path, format, signal);
          return (await nbd).read(r.start, target.subarray(at, at + (r.end - r.start)), r.end - r.start);
        }),
      );
    },
    async close() {
      if (closed) return;
      closed = true;
      const server = nbd;
      await fh?.close();
      if (server) await (await server.catch(() => undefined))?.close();
    },
  };
}
