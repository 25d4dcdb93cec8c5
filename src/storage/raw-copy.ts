// Copies a raw disk image from a byte stream into a DiskSink: all-zero blocks become zero()
// ranges (holes, NBD_CMD_WRITE_ZEROES, stream holes), the rest write() in merged runs.

import { PackageError } from '../errors.js';
import type { DiskSink } from './sink.js';
import { isAllZero } from './zero-bytes.js';

/** Granularity of zero detection, in bytes. */
export const ZERO_BLOCK_BYTES = 64 * 1024;
/** Guest bytes gathered before they are sent (whole blocks), in bytes. */
const STAGE_BYTES = 2 ** 20;

/** Options of {@link copyRaw}. */
export interface CopyRawOptions {
  /** Size of the disk in bytes; a stream shorter than it leaves the rest zero, a longer one is refused. */
  capacityBytes: number;
  /** The image's name in messages; default `raw image`. */
  label?: string;
  signal?: AbortSignal;
  /** Called after each staged megabyte with the input bytes read so far. */
  onProgress?: (bytesRead: number) => void;
}

/** What copyRaw did, in bytes. */
export interface CopyRawResult {
  readonly bytesRead: number;
  /** Bytes sent as write() (the rest was declared zero). */
  readonly dataBytes: number;
}

/**
 * Copies `input` (a raw image, read front to back) into `sink` at offset 0, ascending (fit for a
 * sequential sink): each 64 KiB block that is all zero is declared zero (runs merged), the others
 * written in runs of up to 1 MiB; the tail after the input up to `capacityBytes` is declared
 * zero; then sink.finish(). On failure sink.abort() is called and the error rethrown.
 * @throws PackageError when the input holds more than `capacityBytes`; the sink's errors; the signal's reason.
 */
export async function copyRaw(input: AsyncIterable<Uint8Array>, sink: DiskSink, opts: CopyRawOptions): Promise<CopyRawResult> {
  const label = opts.label ?? 'raw image';
  const cap = opts.capacityBytes;
  if (sink.capacityBytes < cap) throw new RangeError(`${sink.label}: capacity ${sink.capacityBytes} bytes is smaller than ${cap}`);
  const stage = Buffer.allocUnsafe(STAGE_BYTES);
  let filled = 0;
  let base = 0; // guest offset of stage[0]
  let zeroFrom = -1; // pending zero range [zeroFrom, base)
  let dataBytes = 0;

  const flushZero = async (to: number): Promise<void> => {
    if (zeroFrom >= 0 && to > zeroFrom) await sink.zero(zeroFrom, to - zeroFrom);
    zeroFrom = -1;
  };
  const sendStage = async (): Promise<void> => {
    let run = -1;
    for (let at = 0; at < filled; at += ZERO_BLOCK_BYTES) {
      const end = Math.min(filled, at + ZERO_BLOCK_BYTES);
      if (isAllZero(stage.subarray(at, end))) {
        if (run >= 0) {
          await sink.write(base + run, stage.subarray(run, at));
          dataBytes += at - run;
          run = -1;
        }
        if (zeroFrom < 0) zeroFrom = base + at;
      } else if (run < 0) {
        await flushZero(base + at);
        run = at;
      }
    }
    if (run >= 0) {
      await sink.write(base + run, stage.subarray(run, filled));
      dataBytes += filled - run;
    }
    base += filled;
    filled = 0;
  };

  let bytesRead = 0;
  try {
    for await (const chunk of input) {
      opts.signal?.throwIfAborted();
      if (bytesRead + chunk.length > cap) throw new PackageError(`${label}: holds more than the disk's capacity of ${cap} bytes (byte ${cap} onwards)`, { file: label });
      for (let at = 0; at < chunk.length; ) {
        const n = Math.min(chunk.length - at, STAGE_BYTES - filled);
        stage.set(chunk.subarray(at, at + n), filled);
        filled += n;
        at += n;
        if (filled === STAGE_BYTES) await sendStage();
      }
      bytesRead += chunk.length;
      opts.onProgress?.(bytesRead);
    }
    opts.signal?.throwIfAborted();
    await sendStage();
    if (zeroFrom < 0 && base < cap) zeroFrom = base;
    await flushZero(cap);
    await sink.finish();
  } catch (err) {
    await sink.abort();
    throw err;
  }
  return { bytesRead, dataBytes };
}
