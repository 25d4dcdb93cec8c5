// StoragePool.info() (virStoragePoolGetInfo) against the real libvirtd, compared with statfs(2) of the pool's directory.

import assert from 'node:assert/strict';
import { statfs } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { LibvirtError } from '../../src/errors.js';
import { Connection, ErrorCode, lookupPool, type StoragePool } from '../../src/libvirt/index.js';
import { ensureLibvirtd, scratchPool, TEST_URI, type ScratchPool } from './harness.js';

describe('StoragePool.info', () => {
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
    conn?.close();
    await scratch?.cleanup();
  });

  it('reports a running pool with the capacity and free space of its file system', async () => {
    await pool.refresh();
    const info = await pool.info();
    assert.equal(info.state, 2, 'VIR_STORAGE_POOL_RUNNING');
    for (const key of ['capacityBytes', 'allocationBytes', 'availableBytes'] as const) {
      assert.ok(Number.isSafeInteger(info[key]) && info[key] >= 0, `${key} is a byte count: ${info[key]}`);
    }
    assert.ok(info.capacityBytes > 0);
    assert.ok(info.availableBytes <= info.capacityBytes);
    // A dir pool reports statvfs(3) of its target: f_blocks × f_frsize, and f_bfree (not f_bavail:
    // blocks reserved for root count as available) × f_frsize.
    const st = await statfs(scratch.path);
    assert.equal(info.capacityBytes, st.blocks * st.bsize);
    const slack = 64 * 2 ** 20; // other processes write to the same file system meanwhile
    assert.ok(Math.abs(info.availableBytes - st.bfree * st.bsize) < slack, `available ${info.availableBytes} ≈ ${st.bfree * st.bsize}`);
  });

  it('matches the capacity, allocation and available the pool XML reports', async () => {
    const info = await pool.info();
    const xml = await pool.xml();
    const field = (name: string) => Number(new RegExp(`<${name} unit='bytes'>(\\d+)</${name}>`).exec(xml)?.[1]);
    assert.equal(info.capacityBytes, field('capacity'));
    assert.equal(info.allocationBytes, field('allocation'));
    assert.equal(info.availableBytes, field('available'));
  });

  it('rejects with VIR_ERR_INVALID_STORAGE_POOL once the handle is freed', async () => {
    const other = lookupPool(conn, scratch.name);
    assert.ok(other);
    other.free();
    await assert.rejects(other.info(), (e: unknown) => e instanceof LibvirtError && e.code === ErrorCode.INVALID_STORAGE_POOL && e.func === 'virStoragePoolGetInfo');
  });
});
