// Which virtual sizes an untrusted disk image may claim, and sizes written for people (bytes with a binary unit).

/** Largest virtual size an image may claim: 2^50 bytes (1 PiB). Anything above is refused. */
export const MAX_VIRTUAL_SIZE_BYTES = 2 ** 50;

/**
 * How many times the OVF's declared capacity (`ovf:capacity`) an image's own header may claim
 * before it is refused. Generous, because descriptors get their units wrong; but a tiny file
 * claiming 2^60 bytes behind a 1 GiB capacity is an attack on the target pool, not a typo.
 */
export const MAX_CAPACITY_RATIO = 64;

/** `bytes` as a number with its binary-unit rendering, e.g. `2147483648 bytes (2.0 GiB)`. */
export function describeBytes(bytes: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let value = bytes;
  let unit = '';
  for (const u of units) {
    if (value < 1024) break;
    value /= 1024;
    unit = u;
  }
  const exact = Number.isInteger(bytes) ? BigInt(bytes).toString() : String(bytes); // 2**60 prints as 1152921504606846976
  return unit ? `${exact} bytes (${value.toFixed(1)} ${unit})` : `${exact} bytes`;
}

/**
 * Why a claimed virtual size is refused, or undefined when it is believable: above
 * MAX_VIRTUAL_SIZE_BYTES, or above MAX_CAPACITY_RATIO × the declared capacity (when declared and > 0).
 */
export function virtualSizeProblem(virtualSizeBytes: number, capacityBytes?: number): string | undefined {
  if (!Number.isSafeInteger(virtualSizeBytes) || virtualSizeBytes > MAX_VIRTUAL_SIZE_BYTES) {
    return `its header claims a virtual size of ${describeBytes(virtualSizeBytes)}, above the limit of ${describeBytes(MAX_VIRTUAL_SIZE_BYTES)}`;
  }
  if (capacityBytes !== undefined && capacityBytes > 0 && virtualSizeBytes > capacityBytes * MAX_CAPACITY_RATIO) {
    return `its header claims a virtual size of ${describeBytes(virtualSizeBytes)}, more than ${MAX_CAPACITY_RATIO} times the ${describeBytes(capacityBytes)} the descriptor declares (ovf:capacity)`;
  }
  return undefined;
}
