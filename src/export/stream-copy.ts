// A disk read through libvirt streams (stream-guest.ts), copied into a local raw or qcow2 file
// in one pass in guest order: the --disk-format raw/qcow2 counterpart of qemu-img convert for
// volumes on another host.
import { open } from 'node:fs/promises';
import { fileUploader, Qcow2StreamSink } from '../storage/qcow2-stream/index.js';
import type { DiskSink } from '../storage/sink.js';
import type { StreamedDisk } from './stream-guest.js';

/** Guest bytes read and written at a time. */
const PIECE_BYTES = 4 * 2 ** 20;

/**
 * Writes the guest bytes of `disk` into a new file `target` (created exclusively): `raw` as a
 * sparse file (data written in place, holes left unwritten, truncated to the virtual size),
 * `qcow2` through the sequential encoder (Qcow2StreamSink over positioned writes). Only data
 * extents are read.
 * @throws LibvirtError while reading; OS errors while writing; the signal's reason when aborted.
 */
export async function copyStreamed(disk: StreamedDisk, target: string, format: 'raw' | 'qcow2', onProgress: (done: number, total: number) => void, signal: AbortSignal): Promise<void> {
  const fh = await open(target, 'wx');
  const size = disk.sizeBytes;
  const sink: Pick<DiskSink, 'write' | 'zero' | 'finish' | 'abort'> =
    format === 'qcow2'
      ? new Qcow2StreamSink({ capacityBytes: size, uploader: fileUploader(fh), label: target })
      : {
          write: async (offset, data) => void (await fh.write(data, 0, data.length, offset)),
          zero: async () => undefined,
          finish: () => fh.truncate(size),
          abort: async () => undefined,
        };
  const pass = await disk.pass().catch(async (err: unknown) => {
    await fh.close();
    throw err;
  });
  try {
    const buf = new Uint8Array(PIECE_BYTES);
    for await (const e of pass.extents) {
      signal.throwIfAborted();
      const end = Math.min(e.start + e.length, size);
      if (end <= e.start) continue;
      if (!e.data || e.zero) {
        await sink.zero(e.start, end - e.start);
        continue;
      }
      for (let at = e.start; at < end; at += PIECE_BYTES) {
        const n = Math.min(PIECE_BYTES, end - at);
        await pass.reader.readSegments(at, buf, n, [{ start: at, length: n, depth: 0, ...(e.offset !== undefined ? { hostOffset: e.offset + (at - e.start) } : {}) }]);
        await sink.write(at, buf.subarray(0, n));
        onProgress(at + n, size);
      }
    }
    await sink.finish();
    onProgress(size, size);
  } catch (err) {
    await sink.abort();
    throw err;
  } finally {
    await pass.reader.close();
    await fh.close();
  }
}
