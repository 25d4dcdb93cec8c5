// Property-based tests of the allocation-units parser (src/ovf/units.ts, DSP0004 Annex C):
// any input yields a positive safe integer or an OvfParseError, never another exception.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { OvfParseError } from '../../src/errors.js';
import { parseAllocationUnits, quantityToBytes } from '../../src/ovf/units.js';
import { fcParams, HeapWatch, typedOutcome } from './helpers.js';

/** Names found on Object.prototype in lower case: a plain-object lookup table answers them. */
const PROTOTYPE_NAMES = ['__proto__', 'constructor'];

const TOKENS = ['byte', 'bytes', 'Bytes', 'KiloBytes', 'MegaBytes', 'GigaBytes', 'MB', 'GiB', 'kb', 'tebibytes', 'byte*2^20', '2^20', '2 ^ 30', '10^6', '1024', '0', '1', '2^0', '0^0', '2^80', '2^81', '3^50', '99999999999999999999', '*', ' ', '^', '-1', '1e3', '0x10', '²', '\u00a0', '\t'];
const HOSTILE = [...PROTOTYPE_NAMES, 'toString', 'valueOf', 'hasOwnProperty', 'prototype', '__defineGetter__', '__lookupSetter__', 'isPrototypeOf'];

/** Unit strings built from unit-like tokens, hostile names mixed in when `hostile`. */
const unitText = (hostile: boolean): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.array(fc.constantFrom(...TOKENS, ...(hostile ? HOSTILE : [])), { maxLength: 8 }).map((t) => t.join(' ')),
    fc.array(fc.constantFrom(...TOKENS, ...(hostile ? HOSTILE : [])), { maxLength: 8 }).map((t) => t.join('*')),
  );

/** Checks one unit string: a positive safe integer, or an OvfParseError naming the element. */
function checkUnits(text: string): void {
  const result = typedOutcome(() => parseAllocationUnits(text, 'Disk/@ovf:capacityAllocationUnits', 'vm.ovf'), text);
  if (result instanceof Error) {
    assert.ok(result instanceof OvfParseError, `${result.name} is not an OvfParseError`);
    assert.equal(result.element, 'Disk/@ovf:capacityAllocationUnits');
  } else {
    assert.ok(Number.isSafeInteger(result) && result > 0, `"${text}" gave ${result}, not a positive safe integer`);
  }
}

describe('property: parseAllocationUnits', () => {
  it('returns a positive safe integer or throws OvfParseError, for any text', () => {
    const heap = new HeapWatch();
    fc.assert(
      fc.property(unitText(false), (text) => {
        heap.sample();
        checkUnits(text);
      }),
      fcParams(3000, 3000),
    );
    heap.check('parseAllocationUnits');
  });

  it('agrees with BigInt arithmetic on well-formed programmatic units', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 16 }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 1, max: 4096 }), (base, exponent, factor) => {
        const text = `byte * ${base}^${exponent} * ${factor}`;
        const exact = BigInt(base) ** BigInt(exponent) * BigInt(factor);
        const result = typedOutcome(() => parseAllocationUnits(text, 'u'), text);
        if (exact > BigInt(Number.MAX_SAFE_INTEGER)) assert.ok(result instanceof OvfParseError, text);
        else assert.equal(result, Number(exact), text);
      }),
      fcParams(1000, 2000),
    );
  });

  // Found by this suite: "constructor * 2" threw TypeError and "__proto__" returned NaN while
  // units.ts looked units up in a plain object (fixed in src/ovf by the lead).
  it('refuses unit names that are Object.prototype properties', () => {
    fc.assert(
      fc.property(unitText(true), (text) => checkUnits(text)),
      { ...fcParams(500, 1000), examples: [['constructor * 2'], ['__proto__'], ['Constructor']] },
    );
  });
});

describe('property: quantityToBytes', () => {
  it('returns the exact product as a safe integer or throws OvfParseError', () => {
    const quantity = fc.oneof(fc.string({ maxLength: 30 }), fc.bigInt({ min: 0n, max: 2n ** 64n }).map(String), fc.nat().map((n) => ` ${n}\t`));
    const multiplier = fc.oneof(fc.constantFrom(1, 512, 1024, 2 ** 20, 2 ** 30, 2 ** 40, Number.MAX_SAFE_INTEGER), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }));
    fc.assert(
      fc.property(quantity, multiplier, (q, m) => {
        const result = typedOutcome(() => quantityToBytes(q, m, 'Disk/@ovf:capacity'), { q, m });
        if (result instanceof Error) return;
        const exact = BigInt(q.trim()) * BigInt(m);
        assert.ok(Number.isSafeInteger(result) && result >= 0);
        assert.equal(BigInt(result), exact);
      }),
      fcParams(3000, 3000),
    );
  });
});
