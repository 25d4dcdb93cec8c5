// Tests of pools and volumes against the real libvirtd: volume create/path/delete and stream transfers.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LibvirtError } from '../../src/errors.js';
import { Connection, ErrorCode, lookupPool, type StoragePool } from '../../src/libvirt/index.js';
import { ensureLibvirtd, scratchPool, TEST_URI, uniqueName, type ScratchPool } from './harness.js';

function volumeXml(name: string, format: 'raw' | 'qcow2', bytes: number): string {
  return `<volume><name>${name}</name><capacity unit='bytes'>${bytes}</capacity><target><format type='${format}'/></target></volume>`;
}

describe('libvirt storage pools and volumes', () => {
  let scratch: ScratchPool;
  let conn: Connection;
  let pool: StoragePool;

  before(async () => {
    await ensureLibvirtd();
    scratch = await scratchPool();
    conn = Connection.open(TEST_URI);
    const found = lookupPool(conn, scratch.name);
    assert.ok(found, 'the scratch pool exists');
    pool = found;
  });

  after(async () => {
    conn?.close(); // frees the pool and any volume handle a failed test left behind
    await scratch?.cleanup();
  });

  it('looks pools up and describes them', async () => {
    assert.equal(pool.name(), scratch.name);
    assert.equal(pool.isActive(), true);
    assert.match(await pool.xml(), new RegExp(`<path>${scratch.path}</path>`));
    assert.equal(lookupPool(conn, uniqueName('no-such-pool')), null);
  });

  it('creates a qcow2 volume, finds it, and deletes it', async () => {
    const name = `${uniqueName('vol')}.qcow2`;
    const vol = await pool.createVolume(volumeXml(name, 'qcow2', 1024 * 1024));
    assert.equal(vol.name(), name);
    const path = vol.path();
    assert.equal(path, join(scratch.path, name));
    assert.ok(existsSync(path));
    assert.equal(readFileSync(path).subarray(0, 4).toString('latin1'), 'QFI\xfb');
    const xml = await vol.xml();
    assert.match(xml, /<capacity unit='bytes'>1048576<\/capacity>/);
    assert.match(xml, /<format type='qcow2'\/>/);

    const again = pool.lookupVolume(name);
    assert.ok(again);
    assert.equal(again.path(), path);
    again.free();
    assert.equal(pool.lookupVolume(uniqueName('no-such-vol')), null);

    await vol.delete();
    assert.equal(existsSync(path), false);
    assert.equal(pool.lookupVolume(name), null);
    vol.free();
    vol.free();
    assert.throws(() => vol.path(), (err: unknown) => err instanceof LibvirtError && err.code === ErrorCode.INVALID_STORAGE_VOL);
  });

  it('refresh() picks up files created behind libvirt', async () => {
    const name = uniqueName('outside');
    writeFileSync(join(scratch.path, name), Buffer.alloc(4096));
    assert.equal(pool.lookupVolume(name), null);
    await pool.refresh();
    const vol = pool.lookupVolume(name);
    assert.ok(vol);
    await vol.delete();
    vol.free();
  });

  it('uploads 64 KiB to a raw volume through a stream and downloads them back', async () => {
    const size = 64 * 1024;
    const data = randomBytes(size);
    const vol = await pool.createVolume(volumeXml(uniqueName('raw'), 'raw', size));
    try {
      const up = conn.newStream();
      await vol.upload(up, 0, size);
      await up.sendAll(data.subarray(0, 1000));
      await up.sendAll(data.subarray(1000));
      await up.finish();
      up.free();
      assert.deepEqual(readFileSync(vol.path()), data);

      const down = conn.newStream();
      await vol.download(down, 0, size);
      const chunks: Buffer[] = [];
      for (let chunk = await down.recv(7000); chunk.length > 0; chunk = await down.recv(7000)) chunks.push(chunk);
      await down.finish();
      down.free();
      assert.deepEqual(Buffer.concat(chunks), data);

      const part = conn.newStream();
      await vol.download(part, 1024n, 100n);
      const head = await part.recv(4096);
      assert.deepEqual(head, data.subarray(1024, 1124));
      assert.equal((await part.recv(4096)).length, 0);
      await part.finish();
      part.free();
    } finally {
      await vol.delete();
      vol.free();
    }
  });

  it('rejects a transfer to a deleted volume', async () => {
    const vol = await pool.createVolume(volumeXml(uniqueName('gone'), 'raw', 4096));
    await vol.delete();
    const stream = conn.newStream();
    try {
      await assert.rejects(vol.upload(stream, 0, 10), (err: unknown) => {
        assert.ok(err instanceof LibvirtError);
        assert.equal(err.func, 'virStorageVolUpload');
        assert.equal(err.code, ErrorCode.NO_STORAGE_VOL);
        return true;
      });
    } finally {
      stream.free();
      vol.free();
    }
  });
});
