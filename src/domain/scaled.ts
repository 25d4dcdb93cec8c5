// libvirt scaled integers ("Memory Allocation", formatdomain.html) in bytes.
import { domainXmlError } from './element.js';

/** libvirt's scaled-integer multipliers: binary with iB or alone, decimal with B. */
const SCALE: Record<string, bigint> = { k: 1n, m: 2n, g: 3n, t: 4n, p: 5n, e: 6n };

/**
 * A libvirt scaled integer in bytes: `b`/`byte`/`bytes`; `k`,`KiB`,`M`,`MiB`... (powers of 1024);
 * `KB`,`MB`,`GB`... (powers of 1000); case-insensitive; `defaultUnit` (domain.json read.memoryUnit for <memory>) when `unit` is absent.
 * @throws LibvirtError when the value is not a non-negative integer, the unit is unknown or
 *   the result exceeds 2^53 - 1.
 */
export function scaledToBytes(value: string, unit: string | undefined, where: string, defaultUnit: string): number {
  const text = value.trim();
  const u = (unit ?? defaultUnit).trim().toLowerCase();
  if (!/^\d+$/.test(text)) throw domainXmlError(`${where}: "${value}" is not a non-negative integer`);
  let factor: bigint | undefined;
  if (u === 'b' || u === 'byte' || u === 'bytes') factor = 1n;
  else if (u[0] !== undefined && u[0] in SCALE) {
    const base = u.length === 1 || u.slice(1) === 'ib' ? 1024n : u.slice(1) === 'b' ? 1000n : undefined;
    if (base !== undefined) factor = base ** SCALE[u[0]]!;
  }
  if (factor === undefined) throw domainXmlError(`${where}: unknown unit "${unit}"`);
  const bytes = BigInt(text) * factor;
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) throw domainXmlError(`${where}: ${value} ${unit ?? defaultUnit} is too large`);
  return Number(bytes);
}
