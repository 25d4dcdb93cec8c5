// parseAllocationUnits and quantityToBytes: DSP0004 programmatic units and the producers' named units.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OvfParseError } from '../../src/errors.js';
import { parseAllocationUnits, quantityToBytes } from '../../src/ovf/units.js';

const WHERE = 'DiskSection/Disk[1]/@ovf:capacityAllocationUnits';

/** Asserts that `fn` throws an OvfParseError whose message and element name `where`. */
function assertParseError(fn: () => unknown, where: string, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof OvfParseError, `expected OvfParseError, got ${String(err)}`);
    assert.ok(err.message.includes(where), `message "${err.message}" should name ${where}`);
    assert.equal(err.element, where);
    if (message) assert.match(err.message, message);
    return true;
  });
}

describe('parseAllocationUnits', () => {
  const good: [string, number][] = [
    ['byte * 2^20', 2 ** 20],
    ['byte * 2 ^ 30', 2 ** 30],
    ['byte*2^30', 2 ** 30],
    ['byte * 10^6', 1_000_000],
    ['byte * 1024', 1024],
    ['byte * 2^10 * 1000', 1_024_000],
    ['MegaBytes', 2 ** 20],
    ['KiloBytes', 2 ** 10],
    ['GigaBytes', 2 ** 30],
    ['byte', 1],
    ['bytes', 1],
    ['  byte * 2^20  ', 2 ** 20],
    ['BYTE * 2^20', 2 ** 20],
    ['Byte * 2^40', 2 ** 40],
    ['megabytes', 2 ** 20],
    ['MEGABYTES', 2 ** 20],
    ['gigabytes', 2 ** 30],
    ['KB', 2 ** 10],
    ['MiB', 2 ** 20],
    ['GB', 2 ** 30],
    ['TeraBytes', 2 ** 40],
  ];
  for (const [units, expected] of good) {
    it(`reads "${units}" as ${expected} bytes`, () => {
      assert.equal(parseAllocationUnits(units, WHERE), expected);
    });
  }

  const bad: [string, string][] = [
    ['hertz * 10^6', 'a frequency is not a byte unit'],
    ['MegaHertz', 'a named frequency is not a byte unit'],
    ['bogus', 'an unknown name'],
    ['', 'the empty string'],
    ['   ', 'blank text'],
    ['byte * 2^99', 'an exponent beyond any disk size'],
    ['byte * 2^60', 'a multiplier beyond 2^53'],
    ['byte * 0', 'a zero multiplier'],
    ['byte * 2^', 'a power without exponent'],
    ['byte * -2', 'a negative multiplier'],
    ['byte * 2.5', 'a fractional multiplier'],
    ['byte / 8', 'a division'],
    ['percent', 'a percentage'],
  ];
  for (const [units, why] of bad) {
    it(`refuses "${units}" (${why}) with an OvfParseError naming the element`, () => {
      assertParseError(() => parseAllocationUnits(units, WHERE), WHERE, /allocation units/);
    });
  }

  it('prefixes the message with the file name when one is given', () => {
    assert.throws(
      () => parseAllocationUnits('bogus', WHERE, 'appliance.ovf'),
      (err: unknown) => err instanceof OvfParseError && err.file === 'appliance.ovf' && err.message.startsWith('appliance.ovf: ') && err.element === WHERE,
    );
  });
});

describe('quantityToBytes', () => {
  const Q = 'DiskSection/Disk[1]/@ovf:capacity';
  const good: [string, number, number][] = [
    ['16', 2 ** 30, 16 * 2 ** 30],
    [' 512 ', 2 ** 20, 512 * 2 ** 20],
    ['0', 2 ** 20, 0],
    ['10737418240', 1, 10737418240],
    ['8388607', 2 ** 30, 2 ** 53 - 2 ** 30],
  ];
  for (const [quantity, multiplier, expected] of good) {
    it(`multiplies "${quantity}" by ${multiplier} to ${expected}`, () => {
      assert.equal(quantityToBytes(quantity, multiplier, Q), expected);
    });
  }

  it('combines with parseAllocationUnits for a VMware disk of 16 GiB', () => {
    assert.equal(quantityToBytes('16', parseAllocationUnits('byte * 2^30', WHERE), Q), 17_179_869_184);
  });

  const bad: [string, number, string][] = [
    ['${SIZE}', 1, 'an unexpanded property placeholder'],
    ['-1', 1, 'a negative number'],
    ['1.5', 2 ** 30, 'a fraction'],
    ['', 1, 'the empty string'],
    ['1e9', 1, 'exponent notation'],
    ['0x10', 1, 'a hexadecimal number'],
    ['9007199254740992', 1, 'one past the largest safe integer'],
    ['8388608', 2 ** 30, 'a product of exactly 2^53'],
    ['99999999999999999999999', 2 ** 20, 'a quantity far beyond 2^53'],
  ];
  for (const [quantity, multiplier, why] of bad) {
    it(`refuses "${quantity}" × ${multiplier} (${why}) with an OvfParseError naming the element`, () => {
      assertParseError(() => quantityToBytes(quantity, multiplier, Q), Q);
    });
  }
});
