// A one-pass decoder of streamOptimized VMDK (VMware "Virtual Disk Format 5.0", "Stream-Optimized
// Compressed Sparse Extents") from any byte stream into a DiskSink, inflating on every core.

import { availableParallelism } from 'node:os';
import type { DiskSink } from '../sink.js';
import { decodeStream, type DecodeResult } from './decode.js';
import { readLeadIn, type StreamHeader } from './header.js';
import { StreamReader } from './reader.js';

export type { DecodeResult } from './decode.js';
export { isStreamOptimized } from './header.js';
export { NotStreamableError } from './not-streamable.js';

/** Options of {@link openStreamOptimized}. */
export interface OpenStreamOptions {
  /** The image's name in messages (an OVA member, a URL, `-`); default `VMDK stream`. */
  label?: string;
  /** Aborts reading the header (and, unless decodeInto gets its own, the decode). */
  signal?: AbortSignal;
  /** ovf:capacity in bytes, when declared: a header claiming over 64× this is refused (size-policy.ts). */
  declaredCapacityBytes?: number;
}

/** Options of {@link StreamOptimizedImage.decodeInto}. */
export interface DecodeOptions {
  signal?: AbortSignal;
  /** Inflate worker threads; default os.availableParallelism(). */
  workers?: number;
  /** Called as input is consumed, with the stream bytes read so far. */
  onProgress?: (bytesRead: number) => void;
}

/** An opened stream: the header is read and checked, the grains are not. */
export interface StreamOptimizedImage {
  /** Virtual size (capacity × 512), in bytes: the size to create the target volume with. */
  readonly capacityBytes: number;
  /** Grain size in bytes (64 KiB as VMware and virt-ovf write). */
  readonly grainBytes: number;
  /**
   * Reads the rest of the stream and writes the guest bytes into `sink`: grains as write(),
   * the gaps between them, all-zero grains and the tail as zero(); then sink.finish(). On any
   * failure it calls sink.abort() (the caller's rollback removes the target) and rethrows.
   * Up to `sink.maxInFlight` calls run at once (1 on a sequential sink).
   * Grains come in stream order; a sequential sink needs them ascending (VMware and virt-ovf
   * write them so), otherwise NotStreamableError before the first out-of-order byte is sent.
   * Checks the stream as it goes: grain LBAs aligned, inside the capacity, never twice; the
   * grain tables, directory and footer name exactly the grains the markers carry (what qemu
   * reads); each grain inflates to its size (at most grainBytes, a compressed grain at most
   * twice that); after the end-of-stream marker only zero bytes. Memory stays bounded
   * (about 3 MiB per worker) whatever the disk size. Call it once.
   * @throws PackageError naming the label and the byte offset; NotStreamableError; the sink's
   *   errors; the signal's reason once aborted.
   */
  decodeInto(sink: DiskSink, opts?: DecodeOptions): Promise<DecodeResult>;
}

/**
 * Reads and checks the header and embedded descriptor of a streamOptimized VMDK from `input`
 * (which is never seeked and is read only as far as the lead-in), so that the caller can create
 * the target with `capacityBytes` before decoding.
 * @throws PackageError (exit 3) for a stream that is not a well-formed streamOptimized VMDK
 *   or is truncated (naming the label and byte offset); NotStreamableError for one only a
 *   seeking reader (qemu-img) can follow; the signal's reason once aborted.
 */
export async function openStreamOptimized(input: AsyncIterable<Uint8Array>, opts: OpenStreamOptions = {}): Promise<StreamOptimizedImage> {
  const label = opts.label ?? 'VMDK stream';
  const reader = new StreamReader(input, label);
  reader.signal = opts.signal;
  let header: StreamHeader;
  try {
    header = await readLeadIn(reader, opts.declaredCapacityBytes);
  } catch (err) {
    await reader.close();
    throw err;
  }
  let used = false;
  return {
    capacityBytes: header.capacityBytes,
    grainBytes: header.grainBytes,
    async decodeInto(sink, d = {}) {
      if (used) throw new Error('decodeInto: the stream was already decoded');
      used = true;
      reader.onRead = d.onProgress;
      reader.signal = d.signal ?? opts.signal;
      try {
        const result = await decodeStream(reader, header, sink, Math.max(1, d.workers ?? availableParallelism()));
        d.onProgress?.(result.bytesRead);
        await sink.finish();
        return result;
      } catch (err) {
        await sink.abort();
        await reader.close();
        throw err;
      }
    },
  };
}
