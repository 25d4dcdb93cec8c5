// The physical limit of the decoder on this machine: how many guest bytes one core inflates per
// second from a streamOptimized VMDK's grains (zlib on the main thread, markers walked in order).
import { open } from 'node:fs/promises';
import { inflateSync } from 'node:zlib';
import { MiB } from './format.js';

/** Bytes of the VMDK read for the measure (its first grains). */
const SAMPLE_BYTES = 256 * MiB;

/**
 * Guest bytes per second one core inflates from the grains in the first 256 MiB of `vmdk`
 * (SparseExtentHeader.overHead gives the first marker; a grain marker is LBA u64, size u32, then
 * the deflate data, padded to a sector; a metadata marker has size 0 and is skipped with its sectors).
 */
export async function inflateRate(vmdk: string): Promise<number> {
  const fh = await open(vmdk, 'r');
  try {
    const buf = Buffer.alloc(SAMPLE_BYTES);
    const { bytesRead } = await fh.read(buf, 0, SAMPLE_BYTES, 0);
    const data = buf.subarray(0, bytesRead);
    let at = Number(data.readBigUInt64LE(64)) * 512;
    let guest = 0;
    let ms = 0;
    while (at + 512 <= data.length) {
      const size = data.readUInt32LE(at + 8);
      if (size === 0) {
        if (data.readUInt32LE(at + 12) === 0) break; // end-of-stream marker
        at += 512 + Number(data.readBigUInt64LE(at)) * 512;
        continue;
      }
      if (at + 12 + size > data.length) break;
      const t0 = performance.now();
      guest += inflateSync(data.subarray(at + 12, at + 12 + size)).length;
      ms += performance.now() - t0;
      at += Math.ceil((12 + size) / 512) * 512;
    }
    return ms > 0 ? (guest * 1000) / ms : 0;
  } finally {
    await fh.close();
  }
}
