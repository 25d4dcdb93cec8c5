// The sequential qcow2 encoder uploading into a qcow2 volume of the system libvirtd through
// virStorageVolUpload (offset, length 0 = to the end) and a plain stream, as a remote import
// would: the volume is then a clean image holding the guest bytes, and libvirt reads it so.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { Connection, lookupPool } from '../../src/libvirt/index.js';
import { Qcow2StreamSink } from '../../src/storage/qcow2-stream/index.js';
import { volumeUploader } from '../../src/transfer/volume-uploader.js';
import { scratchPool, TEST_URI, type ScratchPool } from '../libvirt/harness.js';
import { scratchDir } from './helpers.js';
import { assertSame, pattern } from './qcow2-stream-helpers.js';
import { open } from 'node:fs/promises';

let pool: ScratchPool;
let conn: Connection;
before(async () => {
  pool = await scratchPool();
  conn = Connection.open(TEST_URI);
});
after(async () => {
  conn?.close();
  await pool?.cleanup();
});

it('uploads a qcow2 image into a qcow2 volume in two uploads (data and tables, then the header) that qemu-img finds clean and identical', async () => {
  const capacity = 3 * 2 ** 30 + 4096;
  const p = lookupPool(conn, pool.name)!;
  const vol = await p.createVolume(`<volume><name>up.qcow2</name><capacity unit='bytes'>${capacity}</capacity><target><format type='qcow2'/></target></volume>`);
  p.free();
  const { dir, cleanup } = await scratchDir();
  const raw = await open(join(dir, 'guest.raw'), 'wx');
  try {
    await raw.truncate(capacity);
    const sink = new Qcow2StreamSink({ capacityBytes: capacity, uploader: volumeUploader(conn, vol), label: 'up.qcow2' });
    const ranges = [[0, 3 * 2 ** 20], [600 * 2 ** 20 + 7, 70_000], [2 ** 31, 2 ** 20], [capacity - 4096, 4096]] as const;
    for (const [i, [offset, length]] of ranges.entries()) {
      const data = pattern(length, i + 1);
      await sink.write(offset, data);
      await raw.write(data, 0, length, offset);
    }
    await sink.finish();
    await assertSame(vol.path(), join(dir, 'guest.raw'));
    const xml = await vol.xml();
    assert.match(xml, /<format type='qcow2'\/>/);
    assert.match(xml, new RegExp(`<capacity unit='bytes'>${capacity}</capacity>`), 'libvirt refreshed the volume from the header written last');
    assert.ok(sink.result!.bytesUploaded <= sink.result!.fileBytes + 112);
  } finally {
    await raw.close();
    await vol.delete().catch(() => undefined);
    vol.free();
    await cleanup();
  }
});
