// Tests of Stream against the real libvirtd: send/finish, abort, free rules and argument checks.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { LibvirtError } from '../../src/errors.js';
import { Connection, ErrorCode, lookupPool, type StoragePool, type StorageVolume } from '../../src/libvirt/index.js';
import { ensureLibvirtd, scratchPool, TEST_URI, uniqueName, type ScratchPool } from './harness.js';

describe('libvirt streams', () => {
  let scratch: ScratchPool;
  let conn: Connection;
  let pool: StoragePool;
  const volumes: StorageVolume[] = [];

  async function rawVolume(bytes: number): Promise<StorageVolume> {
    const name = uniqueName('stream');
    const xml = `<volume><name>${name}</name><capacity unit='bytes'>${bytes}</capacity><target><format type='raw'/></target></volume>`;
    const vol = await pool.createVolume(xml);
    volumes.push(vol);
    return vol;
  }

  before(async () => {
    await ensureLibvirtd();
    scratch = await scratchPool();
    conn = Connection.open(TEST_URI);
    const found = lookupPool(conn, scratch.name);
    assert.ok(found);
    pool = found;
  });

  after(async () => {
    for (const vol of volumes) {
      if (!vol.freed) await vol.delete().catch(() => undefined);
    }
    conn?.close();
    await scratch?.cleanup();
  });

  it('sends bytes and finishes the upload', async () => {
    const vol = await rawVolume(8192);
    const stream = conn.newStream();
    await vol.upload(stream, 4096, 0);
    const payload = Buffer.from('virt-ovf stream payload\n'.repeat(200)).subarray(0, 4096);
    let sent = 0;
    while (sent < payload.length) {
      const n = await stream.send(payload.subarray(sent));
      assert.ok(n > 0 && n <= payload.length - sent, `send returned ${n}`);
      sent += n;
    }
    assert.equal(await stream.send(Buffer.alloc(0)), 0);
    await stream.finish();
    stream.free();
    stream.free();
    const file = readFileSync(vol.path());
    assert.deepEqual(file.subarray(0, 4096), Buffer.alloc(4096));
    assert.deepEqual(file.subarray(4096), payload);
  });

  it('aborts a transfer half way', async () => {
    const vol = await rawVolume(4096);
    const stream = conn.newStream();
    await vol.upload(stream, 0, 4096);
    await stream.sendAll(Buffer.alloc(1024, 0x55));
    await stream.abort();
    stream.free();
    assert.equal(stream.freed, true);
    // The volume is still usable afterwards.
    const again = conn.newStream();
    await vol.upload(again, 0, 4096);
    await again.sendAll(Buffer.alloc(4096, 0xaa));
    await again.finish();
    again.free();
    assert.deepEqual(readFileSync(vol.path()), Buffer.alloc(4096, 0xaa));
  });

  it('frees an unused stream and one left mid-transfer without throwing', async () => {
    conn.newStream().free();
    const vol = await rawVolume(4096);
    const stream = conn.newStream();
    await vol.upload(stream, 0, 4096);
    await stream.sendAll(Buffer.alloc(512));
    stream.free(); // aborts first
    assert.match(await vol.xml(), /<capacity unit='bytes'>4096<\/capacity>/, 'the connection still works');
  });

  it('refuses calls on a freed stream and bad recv sizes', async () => {
    const stream = conn.newStream();
    await assert.rejects(stream.recv(0), RangeError);
    stream.free();
    await assert.rejects(async () => stream.send(Buffer.from('x')), (err: unknown) => {
      assert.ok(err instanceof LibvirtError);
      assert.equal(err.code, ErrorCode.INVALID_STREAM);
      assert.equal(err.func, 'virStreamSend');
      return true;
    });
  });

  it('fails to receive on a stream no transfer is attached to', async () => {
    const stream = conn.newStream();
    await assert.rejects(stream.recv(16), (err: unknown) => err instanceof LibvirtError && err.func === 'virStreamRecv' && err.code !== 0);
    stream.free();
  });
});
