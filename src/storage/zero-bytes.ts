// Finding zero bytes fast (memcmp against a shared zero block instead of a loop per byte).

/** Bytes compared per memcmp. */
const BLOCK = 64 * 1024;
const ZERO = Buffer.alloc(BLOCK);

/** True when every byte of `bytes` is 0. */
export function isAllZero(bytes: Uint8Array): boolean {
  return firstNonZero(bytes) < 0;
}

/** Index of the first non-zero byte of `bytes`, or -1 when all are 0. */
export function firstNonZero(bytes: Uint8Array): number {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  for (let at = 0; at < b.length; at += BLOCK) {
    const n = Math.min(BLOCK, b.length - at);
    if (b.compare(ZERO, 0, n, at, at + n) !== 0) return at + b.subarray(at, at + n).findIndex((x) => x !== 0);
  }
  return -1;
}
