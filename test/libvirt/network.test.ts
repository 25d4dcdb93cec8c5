// Tests of the network binding against the real libvirtd: lookup by name, name, state, free.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LibvirtError } from '../../src/errors.js';
import { Connection, ErrorCode, lookupNetwork } from '../../src/libvirt/index.js';
import { ensureLibvirtd, TEST_URI, uniqueName } from './harness.js';

describe('libvirt Network', () => {
  let conn: Connection;

  before(async () => {
    await ensureLibvirtd();
    conn = Connection.open(TEST_URI);
  });

  after(() => conn?.close());

  it('returns null for an unknown network and a live handle for a known one', () => {
    assert.equal(lookupNetwork(conn, uniqueName('no-such-net')), null);
    const net = lookupNetwork(conn, 'default');
    if (net === null) return; // the host has no default network: nothing more to check
    assert.equal(net.name(), 'default');
    assert.equal(typeof net.isActive(), 'boolean');
    net.free();
    net.free();
    assert.throws(() => net.name(), (err: unknown) => err instanceof LibvirtError && err.code === ErrorCode.INVALID_NETWORK);
  });
});
