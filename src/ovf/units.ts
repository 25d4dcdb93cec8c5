// AllocationUnits / capacityAllocationUnits to bytes (DSP0004 Annex C programmatic units).
import { OvfParseError } from '../errors.js';

/**
 * Named units seen in producers' descriptors. DSP0004 defines the programmatic form
 * `byte * 2^20`; VirtualBox and oVirt write `MegaBytes`, `GigaBytes`, `KiloBytes` and
 * mean binary multiples (VirtualBox memory "MegaBytes" 2048 is 2 GiB), so named units
 * are binary here, as in virt-v2v and VirtualBox's own reader.
 */
const NAMED_UNITS: Record<string, bigint> = {
  byte: 1n,
  bytes: 1n,
  kilobyte: 1n << 10n,
  kilobytes: 1n << 10n,
  kb: 1n << 10n,
  kib: 1n << 10n,
  kibibyte: 1n << 10n,
  kibibytes: 1n << 10n,
  megabyte: 1n << 20n,
  megabytes: 1n << 20n,
  mb: 1n << 20n,
  mib: 1n << 20n,
  mebibyte: 1n << 20n,
  mebibytes: 1n << 20n,
  gigabyte: 1n << 30n,
  gigabytes: 1n << 30n,
  gb: 1n << 30n,
  gib: 1n << 30n,
  gibibyte: 1n << 30n,
  gibibytes: 1n << 30n,
  terabyte: 1n << 40n,
  terabytes: 1n << 40n,
  tb: 1n << 40n,
  tib: 1n << 40n,
  tebibyte: 1n << 40n,
  tebibytes: 1n << 40n,
};

/** Named unit lookup that ignores Object.prototype names such as "constructor". */
const NAMED = new Map<string, bigint>(Object.entries(NAMED_UNITS));

/**
 * Parses a byte unit such as `byte * 2^20`, `byte * 2 ^ 30`, `byte*2^30`, `byte * 10^6`,
 * `byte * 1024`, `MegaBytes`, `KiloBytes`, `GigaBytes` or `byte`.
 * @returns the multiplier in bytes (a positive safe integer).
 * @throws OvfParseError naming `where` when the text is not a byte unit.
 */
export function parseAllocationUnits(units: string, where: string, file?: string): number {
  const text = units.trim();
  const fail = (why: string): never => {
    throw new OvfParseError(`${file ? file + ': ' : ''}${where}: cannot understand allocation units "${units}" (${why})`, {
      ...(file !== undefined ? { file } : {}),
      element: where,
    });
  };
  if (text === '') return fail('empty');
  const named = NAMED.get(text.toLowerCase());
  if (named !== undefined) return Number(named);
  const terms = text.split('*').map((t) => t.trim());
  const base = terms.shift()!.toLowerCase();
  const baseValue = NAMED.get(base);
  if (baseValue === undefined) return fail(`unknown base unit "${base}"`);
  let multiplier = baseValue;
  for (const term of terms) {
    const power = /^(\d+)\s*\^\s*(\d+)$/.exec(term);
    if (power) {
      const exponent = BigInt(power[2]!);
      if (exponent > 80n) return fail('exponent too large');
      multiplier *= BigInt(power[1]!) ** exponent;
    } else if (/^\d+$/.test(term)) {
      multiplier *= BigInt(term);
    } else {
      return fail(`unknown modifier "${term}"`);
    }
  }
  if (multiplier <= 0n || multiplier > BigInt(Number.MAX_SAFE_INTEGER)) return fail('multiplier out of range');
  return Number(multiplier);
}

/**
 * Multiplies a decimal quantity (ovf:capacity, rasd:VirtualQuantity) by a unit multiplier.
 * @returns bytes as a safe integer.
 * @throws OvfParseError naming `where` when the quantity is not a non-negative integer or the product overflows.
 */
export function quantityToBytes(quantity: string, multiplier: number, where: string, file?: string): number {
  const text = quantity.trim();
  if (text === '') throw new OvfParseError(`${file ? file + ': ' : ''}${where} is empty; a non-negative integer is needed`, { ...(file !== undefined ? { file } : {}), element: where });
  if (!/^\d+$/.test(text)) {
    throw new OvfParseError(`${file ? file + ': ' : ''}${where}: "${quantity}" is not a non-negative integer`, {
      ...(file !== undefined ? { file } : {}),
      element: where,
    });
  }
  const bytes = BigInt(text) * BigInt(multiplier);
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new OvfParseError(`${file ? file + ': ' : ''}${where}: ${quantity} × ${multiplier} bytes is too large`, {
      ...(file !== undefined ? { file } : {}),
      element: where,
    });
  }
  return Number(bytes);
}
