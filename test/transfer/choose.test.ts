// The transfer choice: which URIs are local, and the identity proofs on a real local pool.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Connection, lookupPool, type StorageVolume } from '../../src/libvirt/index.js';
import { openPool, type TargetStore } from '../../src/storage/volumes.js';
import { chooseTransfer, isLocalConnection, poolNotHere, sameVolumeHere } from '../../src/transfer/choose.js';
import { scratchPool, TEST_URI, type ScratchPool } from '../libvirt/harness.js';

describe('transfer choice', () => {
  test('only a URI without host and network transport is a local connection', () => {
    for (const uri of ['qemu:///system', 'qemu:///session', 'qemu+unix:///system', 'qemu:///embed?root=/tmp/x']) assert.equal(isLocalConnection(uri), true, uri);
    for (const uri of ['qemu+ssh://root@kvm01/system', 'qemu+tcp://127.0.0.1:16509/system', 'qemu://kvm01/system', 'qemu+tls://h/system', 'qemu+ssh:///system', 'not a uri']) {
      assert.equal(isLocalConnection(uri), false, uri);
    }
  });

  describe('on a local pool of the system libvirtd', () => {
    let scratch: ScratchPool;
    let conn: Connection;
    let store: TargetStore & { kind: 'pool' };
    const volumes: StorageVolume[] = [];

    before(async () => {
      scratch = await scratchPool();
      conn = Connection.open(TEST_URI);
      store = (await openPool(conn, scratch.name)) as TargetStore & { kind: 'pool' };
    });
    after(async () => {
      for (const v of volumes) await v.delete().catch(() => undefined);
      conn?.close();
      await scratch?.cleanup();
    });

    test('the pool directory here is the pool: auto writes locally, stream is kept when asked', async () => {
      assert.equal(await poolNotHere(store), undefined);
      assert.deepEqual(await chooseTransfer(store, 'auto', TEST_URI), { path: 'local', mode: 'auto', reason: `${scratch.path} of the local connection is visible here` });
      assert.equal((await chooseTransfer(store, 'stream', TEST_URI)).path, 'stream');
      assert.equal((await chooseTransfer(store, 'auto', 'qemu+tcp://127.0.0.1:1/system')).path, 'stream', 'a remote URI streams even when the path is visible');
    });

    test('a new volume is proven to be the file at its path here; another file of that name is not', async () => {
      const pool = lookupPool(conn, scratch.name)!;
      const vol = await pool.createVolume(`<volume><name>same.img</name><capacity unit='bytes'>1048576</capacity><target><format type='raw'/></target></volume>`);
      volumes.push(vol);
      assert.equal(await sameVolumeHere(vol, join(scratch.path, 'same.img')), undefined);
      const other = join(scratch.path, 'other.img');
      await writeFile(other, Buffer.alloc(4096));
      assert.match((await sameVolumeHere(vol, other)) ?? '', /is another file than the volume/);
      assert.match((await sameVolumeHere(vol, join(scratch.path, 'missing.img'))) ?? '', /does not exist on this machine/);
    });
  });
});
