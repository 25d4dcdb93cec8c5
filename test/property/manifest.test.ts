// Property-based tests of the manifest parser (src/archive/manifest.ts, DSP0243 5.1): any text
// yields well-formed entries or a ManifestError, quickly; written manifests parse back exactly.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ManifestError, PackageError } from '../../src/errors.js';
import { parseCertificateFile } from '../../src/archive/certificate.js';
import { checkManifestCoverage, parseManifest, type ManifestEntry } from '../../src/archive/manifest.js';
import { fcParams, HeapWatch, typedOutcome } from './helpers.js';

const HEX_LENGTH = { sha1: 40, sha256: 64, sha512: 128 } as const;

/** Lines that look almost like manifest lines: right shape, wrong details, hostile names. */
const nearLine = fc
  .record({
    alg: fc.constantFrom('SHA1', 'sha256', 'Sha512', 'MD5', 'SHA384', '', 'SHA-256', '__proto__', 'constructor'),
    name: fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('vm.ovf', 'a)b', 'a)= b', '../x', '/etc/x', '__proto__', '')),
    eq: fc.constantFrom('= ', '=', ' = ', '==', ' ', '=\t'),
    hex: fc.oneof(fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEFg'), maxLength: 130 }), fc.constantFrom('', '0'.repeat(64), 'F'.repeat(40))),
    end: fc.constantFrom('\n', '\r\n', '', '\r', ' \n'),
  })
  .map(({ alg, name, eq, hex, end }) => `${alg}(${name})${eq}${hex}${end}`);

/** Long pathological lines: many parentheses and equals signs (backtracking bait). */
const longLine = fc
  .record({ unit: fc.constantFrom(')', ')=', '(', '= ', ')= a', 'a', ' '), count: fc.integer({ min: 1000, max: 20000 }), tail: fc.constantFrom(' x', '', ')', '= zz') })
  .map(({ unit, count, tail }) => `SHA256(${unit.repeat(count)}${tail}`);

const manifestText = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.array(nearLine, { maxLength: 6 }).map((lines) => lines.join('')),
  longLine,
);

describe('property: parseManifest', () => {
  it('returns well-formed entries or throws ManifestError, within a second, for any text', () => {
    const heap = new HeapWatch();
    fc.assert(
      fc.property(manifestText, (text) => {
        heap.sample();
        const result = typedOutcome(() => parseManifest(text, 'vm.mf'), text);
        if (result instanceof Error) {
          assert.ok(result instanceof ManifestError, `${result.name} is not a ManifestError`);
          assert.equal(result.file, 'vm.mf');
          assert.match(result.message, /^vm\.mf line \d+: /);
          return;
        }
        for (const entry of result) {
          assert.ok(entry.name.length > 0);
          assert.match(entry.digest, new RegExp(`^[0-9a-f]{${HEX_LENGTH[entry.algorithm]}}$`));
          assert.ok(Number.isInteger(entry.line) && entry.line >= 1);
        }
        // Whatever parsed must also go through the coverage check with typed errors only.
        typedOutcome(() => checkManifestCoverage(result, result.map((e) => e.name), 'vm.mf'), text);
      }),
      fcParams(1500, 5000),
    );
    heap.check('parseManifest');
  });

  it('parses back what a producer writes: any algorithm case, spacing, hex case and line ends', () => {
    const name = fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), fc.constantFrom('a)b', 'x(1).iso', 'a=b', ' lead', 'trail ', ')(')).filter((n) => !/[\r\n\u2028\u2029]/.test(n));
    const entry = fc.record({
      algorithm: fc.constantFrom<ManifestEntry['algorithm']>('sha1', 'sha256', 'sha512'),
      name,
      seed: fc.uint8Array({ minLength: 64, maxLength: 64 }),
      upperAlg: fc.boolean(),
      upperHex: fc.boolean(),
      spaces: fc.constantFrom(['', ''], ['', ' '], [' ', ' '], ['\t', '  ']),
      crlf: fc.boolean(),
      blank: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 8 }), fc.boolean(), (entries, bom) => {
        let text = bom ? '\uFEFF' : '';
        const expected: ManifestEntry[] = [];
        let line = 0;
        for (const e of entries) {
          const digest = Buffer.from(e.seed).toString('hex').repeat(2).slice(0, HEX_LENGTH[e.algorithm]);
          const alg = e.upperAlg ? e.algorithm.toUpperCase() : e.algorithm;
          text += `${alg}(${e.name})${e.spaces[0]}=${e.spaces[1]}${e.upperHex ? digest.toUpperCase() : digest}${e.crlf ? '\r\n' : '\n'}`;
          expected.push({ algorithm: e.algorithm, name: e.name, digest, line: ++line });
          if (e.blank) {
            text += '\n';
            line++;
          }
        }
        // A name with surrounding spaces or parentheses is kept as written; only the whole line is trimmed.
        assert.deepEqual(parseManifest(text, 'vm.mf'), expected);
      }),
      fcParams(1000, 3000),
    );
  });
});

describe('property: parseCertificateFile', () => {
  it('returns a parsed .cert or throws PackageError for any text, within a second', () => {
    const pemish = fc
      .record({ body: fc.string({ unit: fc.constantFrom(...'ABCDEFabcdef0123456789+/=\n'), maxLength: 200 }), end: fc.boolean() })
      .map(({ body, end }) => `-----BEGIN CERTIFICATE-----\n${body}${end ? '\n-----END CERTIFICATE-----\n' : ''}`);
    const text = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.tuple(nearLine, fc.array(pemish, { maxLength: 3 })).map(([line, pems]) => `${line}${pems.join('')}`),
      fc.tuple(longLine, pemish).map(([line, pem]) => `${line}\n${pem}`),
    );
    fc.assert(
      fc.property(text, (t) => {
        const result = typedOutcome(() => parseCertificateFile(t, 'vm.cert'), t);
        if (result instanceof Error) {
          assert.ok(result instanceof PackageError, `${result.name} is not a PackageError`);
          assert.equal(result.file, 'vm.cert');
        } else {
          assert.ok(result.certificates.length > 0 && result.signature.length > 0);
        }
      }),
      fcParams(1000, 3000),
    );
  });
});
