// expectedDataBytes: ovf:populatedSize is a hint, bounded by what the stored file can expand to.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expectedDataBytes } from '../../src/mapping/drives.js';

const KiB = 1024;
const GiB = 2 ** 30;

describe('expectedDataBytes', () => {
  const base = { capacityBytes: 400 * GiB, fileBytes: 110 * KiB, format: 'vmdk' as const, gzip: false };

  it('counts a 274 GiB populatedSize beside 110 KiB of stream-optimized VMDK as at most what deflate can expand those bytes to', () => {
    assert.equal(expectedDataBytes({ ...base, populated: 274 * GiB }), 110 * KiB * 1032);
  });

  it('keeps a plausible populatedSize as it is (the pool check refuses it when too large)', () => {
    assert.equal(expectedDataBytes({ ...base, populated: 16 * 2 ** 20 }), 16 * 2 ** 20);
  });

  it('bounds a raw file by its own size: raw data does not expand', () => {
    assert.equal(expectedDataBytes({ ...base, format: 'raw', populated: 274 * GiB }), 110 * KiB);
  });

  it('never counts more than the capacity', () => {
    assert.equal(expectedDataBytes({ ...base, capacityBytes: 1 * 2 ** 20, populated: 274 * GiB }), 2 ** 20);
  });

  it('takes populatedSize 0 (written by producers that did not measure) as no hint', () => {
    assert.equal(expectedDataBytes({ ...base, populated: 0 }), 110 * KiB);
  });

  it('keeps the hint when the file is not in hand (inspect, print-xml), and the capacity for a gzip file without one', () => {
    assert.equal(expectedDataBytes({ ...base, fileBytes: 0, populated: 5 * GiB }), 5 * GiB);
    assert.equal(expectedDataBytes({ ...base, gzip: true, populated: undefined }), 400 * GiB);
    assert.equal(expectedDataBytes({ ...base, gzip: true, populated: 4096 }), 4096);
  });
});
