// Copies an image in any format qemu reads into a DiskSink: qemu-nbd serves the guest bytes
// read-only (transfer/qemu-nbd.ts), `qemu-img map` gives the allocation (block status), and
// only the data runs are read over NBD.
import type { DiskSink } from '../storage/sink.js';
import { sourceFilename, type ImageSource } from '../storage/qemu-img.js';
import { imageMap } from '../storage/qemu-img-map.js';
import { openQemuNbd } from './qemu-nbd.js';

/** Bytes per NBD read (the sink gathers them into its own chunks). */
const READ_BYTES = 4 * 2 ** 20;

/**
 * Writes the guest bytes of `source` into `sink` in ascending order: each run `qemu-img map`
 * reports as data is read over NBD from a read-only qemu-nbd and written, each run that reads as
 * zeros becomes sink.zero(). Does not finish or abort the sink (the caller does). `onProgress`
 * receives the guest bytes done so far.
 *
 * Why not `qemu-img convert -O raw` into a pipe: qemu-img needs a seekable target, and a pipe
 * loses the allocation (every hole would cross the stream as zeros); qemu-nbd plus block status
 * keeps holes as holes and reads each data byte once.
 * @throws ToolError when qemu-nbd or qemu-img fails; the sink's errors; the signal's reason.
 */
export async function copyImageToSink(source: ImageSource, sink: DiskSink, opts: { signal: AbortSignal; onProgress?: (bytesDone: number) => void }): Promise<void> {
  const { signal } = opts;
  const filename = sourceFilename(source);
  const options = { driver: source.format, ...(JSON.parse(filename.slice('json:'.length)) as Record<string, unknown>) };
  const nbd = await openQemuNbd({ kind: 'image-opts', options, label: source.label ?? source.path }, { readOnly: true, signal });
  try {
    const buffer = Buffer.allocUnsafe(READ_BYTES);
    for await (const run of imageMap(source.path, source.format, { signal, filename })) {
      const end = Math.min(run.start + run.length, sink.capacityBytes);
      if (run.start >= end) continue;
      if (!run.data || run.zero) await sink.zero(run.start, end - run.start);
      else {
        for (let offset = run.start; offset < end; offset += READ_BYTES) {
          signal.throwIfAborted();
          const length = Math.min(READ_BYTES, end - offset);
          await nbd.client.read(offset, buffer, length).catch(async (err: unknown) => Promise.reject(await nbd.failure(err)));
          await sink.write(offset, buffer.subarray(0, length));
          opts.onProgress?.(offset + length);
        }
      }
      opts.onProgress?.(end);
    }
    signal.throwIfAborted();
    await nbd.close();
  } finally {
    await nbd.kill();
  }
}
