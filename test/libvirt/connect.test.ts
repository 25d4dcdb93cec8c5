// Tests of Connection against the real libvirtd: open/close, URI, versions, capabilities.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LibvirtError } from '../../src/errors.js';
import { Connection, ErrorCode, libraryVersion, resolveUri } from '../../src/libvirt/index.js';
import { ensureLibvirtd, TEST_URI } from './harness.js';

describe('libvirt Connection', () => {
  let conn: Connection;

  before(async () => {
    await ensureLibvirtd();
    conn = Connection.open(TEST_URI);
  });

  after(() => conn?.close());

  it('reports its URI and the library/daemon versions', () => {
    assert.equal(conn.uri(), TEST_URI);
    const lib = libraryVersion();
    assert.ok(lib >= 1_000_000, `library version ${lib}`);
    const daemon = conn.libVersion();
    assert.ok(daemon >= 1_000_000, `daemon version ${daemon}`);
    assert.equal(daemon, lib, 'the local daemon runs the same libvirt as the client library');
  });

  it('returns the host and domain capabilities XML', async () => {
    const caps = await conn.capabilities();
    assert.match(caps, /<capabilities>/);
    assert.match(caps, /<host>/);
    const domCaps = await conn.domainCapabilities({ arch: 'x86_64', virttype: 'qemu' });
    assert.match(domCaps, /<domainCapabilities>/);
    assert.match(domCaps, /<domain>qemu<\/domain>/);
  });

  it('rejects impossible domain capabilities with a LibvirtError from the connection', async () => {
    await assert.rejects(conn.domainCapabilities({ arch: 'no-such-arch' }), (err: unknown) => {
      assert.ok(err instanceof LibvirtError);
      assert.equal(err.func, 'virConnectGetDomainCapabilities');
      assert.notEqual(err.code, 0);
      assert.ok(err.message.length > 'virConnectGetDomainCapabilities: '.length);
      return true;
    });
  });

  it('resolves the default URI like virsh', () => {
    const saved = process.env['LIBVIRT_DEFAULT_URI'];
    try {
      process.env['LIBVIRT_DEFAULT_URI'] = 'test:///default';
      assert.equal(resolveUri('qemu:///session'), 'qemu:///session');
      assert.equal(resolveUri(undefined), 'test:///default');
      assert.equal(resolveUri(null), 'test:///default');
      const fromEnv = Connection.open();
      try {
        assert.equal(fromEnv.uri(), 'test:///default');
      } finally {
        fromEnv.close();
      }
      delete process.env['LIBVIRT_DEFAULT_URI'];
      assert.equal(resolveUri(''), null);
    } finally {
      if (saved === undefined) delete process.env['LIBVIRT_DEFAULT_URI'];
      else process.env['LIBVIRT_DEFAULT_URI'] = saved;
    }
  });

  it('throws a LibvirtError for a URI no driver handles', () => {
    assert.throws(
      () => Connection.open('nosuchdriver:///x'),
      (err: unknown) => err instanceof LibvirtError && err.func === 'virConnectOpen' && err.code !== 0 && /nosuchdriver/.test(err.message),
    );
  });

  it('closes idempotently and refuses calls afterwards', async () => {
    const other = Connection.open(TEST_URI);
    const stream = other.newStream();
    other.close();
    other.close();
    assert.equal(other.closed, true);
    assert.equal(stream.freed, true, 'close() freed the children');
    assert.throws(() => other.uri(), (err: unknown) => err instanceof LibvirtError && err.code === ErrorCode.INVALID_CONN);
    await assert.rejects(async () => other.capabilities(), LibvirtError);
  });

  it('waits for calls in flight before closing', async () => {
    const other = Connection.open(TEST_URI);
    const pending = other.capabilities();
    other.close();
    assert.match(await pending, /<capabilities>/);
  });
});
