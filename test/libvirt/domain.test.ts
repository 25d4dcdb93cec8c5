// Tests of the domain wrappers against the real libvirtd: define, lookups, XML, start/destroy, errors.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { LibvirtError } from '../../src/errors.js';
import {
  Connection,
  defineDomain,
  ErrorCode,
  lookupDomainByName,
  lookupDomainByUUID,
  VIR_DOMAIN_UNDEFINE_NVRAM,
  VIR_DOMAIN_XML_INACTIVE,
} from '../../src/libvirt/index.js';
import { ensureLibvirtd, TEST_URI, tinyDomainXml, uniqueName } from './harness.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('libvirt domains', () => {
  let conn: Connection;
  const created: string[] = [];

  before(async () => {
    await ensureLibvirtd();
    conn = Connection.open(TEST_URI);
  });

  after(async () => {
    for (const name of created) {
      try {
        const dom = lookupDomainByName(conn, name);
        if (dom === null) continue;
        if (dom.isActive()) await dom.destroy();
        await dom.undefine(VIR_DOMAIN_UNDEFINE_NVRAM).catch(() => undefined); // transient once destroyed
        dom.free();
      } catch (err) {
        console.error(`cleanup of domain ${name} failed:`, err);
      }
    }
    conn?.close();
  });

  it('defines, looks up, describes, starts, destroys and undefines a domain', async () => {
    const name = uniqueName('virt-ovf-test-dom');
    created.push(name);
    const dom = await defineDomain(conn, tinyDomainXml(name));
    assert.equal(dom.name(), name);
    const uuid = dom.uuid();
    assert.match(uuid, UUID_RE);
    assert.equal(dom.isActive(), false);

    const byName = lookupDomainByName(conn, name);
    assert.ok(byName);
    assert.equal(byName.uuid(), uuid);
    byName.free();
    const byUuid = lookupDomainByUUID(conn, uuid);
    assert.ok(byUuid);
    assert.equal(byUuid.name(), name);
    byUuid.free();

    const xml = await dom.xml(VIR_DOMAIN_XML_INACTIVE);
    assert.match(xml, new RegExp(`<name>${name}</name>`));
    assert.match(xml, new RegExp(`<uuid>${uuid}</uuid>`));
    assert.match(xml, /<memory unit='KiB'>65536<\/memory>/);

    await dom.start();
    assert.equal(dom.isActive(), true);
    assert.match(await dom.xml(), /<domain type='qemu' id='\d+'/);
    await dom.destroy();
    assert.equal(dom.isActive(), false);

    await dom.undefine(0);
    assert.equal(lookupDomainByName(conn, name), null);
    dom.free();
    dom.free();
    assert.equal(dom.freed, true);
    assert.throws(() => dom.name(), (err: unknown) => err instanceof LibvirtError && err.code === ErrorCode.INVALID_DOMAIN);
  });

  it('returns null for an unknown name or UUID and throws for a malformed UUID', () => {
    assert.equal(lookupDomainByName(conn, uniqueName('no-such-dom')), null);
    assert.equal(lookupDomainByUUID(conn, randomUUID()), null);
    assert.throws(
      () => lookupDomainByUUID(conn, 'not-a-uuid'),
      (err: unknown) => err instanceof LibvirtError && err.code === ErrorCode.INVALID_ARG,
    );
  });

  it('rejects malformed and invalid XML with a LibvirtError', async () => {
    await assert.rejects(defineDomain(conn, '<domain type="qemu"><name>x</nam'), (err: unknown) => {
      assert.ok(err instanceof LibvirtError);
      assert.equal(err.func, 'virDomainDefineXML');
      assert.ok([ErrorCode.XML_ERROR, ErrorCode.XML_DETAIL].includes(err.code as 27 | 35), `code ${err.code}`);
      assert.notEqual(err.domain, 0);
      assert.match(err.message, /^virDomainDefineXML: .+/);
      return true;
    });
    await assert.rejects(defineDomain(conn, `<domain type='qemu'><name>${uniqueName('x')}</name></domain>`), (err: unknown) => {
      assert.ok(err instanceof LibvirtError);
      assert.notEqual(err.code, 0);
      assert.ok(err.message.length > 'virDomainDefineXML: '.length);
      return true;
    });
  });

  it('keeps the error of each call when failures interleave', async () => {
    const missing = uniqueName('no-such-dom');
    const arches = Array.from({ length: 8 }, (_, i) => `no-such-arch-${i}`);
    const pending = Promise.allSettled([
      defineDomain(conn, '<not-a-domain/>'),
      ...arches.map((arch) => conn.domainCapabilities({ arch })),
    ]);
    let settled = false;
    void pending.then(() => (settled = true));
    // Synchronous failures on the same connection while the async calls are queued or in flight.
    while (!settled) {
      assert.throws(() => lookupDomainByUUID(conn, 'zzz'), (err: unknown) => err instanceof LibvirtError && err.code === ErrorCode.INVALID_ARG);
      assert.equal(lookupDomainByName(conn, missing), null);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const [define, ...caps] = await pending;
    assert.equal(define?.status, 'rejected');
    const defineError = (define as PromiseRejectedResult).reason as LibvirtError;
    assert.equal(defineError.func, 'virDomainDefineXML');
    assert.doesNotMatch(defineError.message, /no-such-arch|no-such-dom|uuid/i);
    caps.forEach((result, i) => {
      assert.equal(result.status, 'rejected');
      const err = (result as PromiseRejectedResult).reason as LibvirtError;
      assert.equal(err.func, 'virConnectGetDomainCapabilities');
      assert.match(err.message, new RegExp(`no-such-arch-${i}\\b`));
    });
  });
});
