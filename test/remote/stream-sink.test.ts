// StreamSink and the sparse download against the namespace libvirtd over qemu+tcp: holes stay holes both ways.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Connection, lookupPool, type StoragePool, type StorageVolume } from '../../src/libvirt/index.js';
import { VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM } from '../../src/libvirt/index.js';
import { openStreamSink } from '../../src/transfer/stream-sink.js';
import { startRemoteHost, type RemoteHost } from '../harness/remote-libvirtd.js';

const MiB = 2 ** 20;

describe('StreamSink uploads through a sparse libvirt stream to a remote host', () => {
  let host: RemoteHost | string;
  let conn: Connection;
  let pool: StoragePool;
  let n = 0;

  before(async () => {
    host = await startRemoteHost({ ssh: false });
    if (typeof host === 'string') return;
    conn = Connection.open(host.tcpUri);
    pool = lookupPool(conn, host.pools.images.name)!;
  });
  after(async () => {
    conn?.close();
    if (typeof host !== 'string') await host?.stop();
  });

  async function rawVolume(bytes: number): Promise<StorageVolume> {
    const xml = `<volume><name>sink-${n++}.img</name><allocation>0</allocation><capacity unit='bytes'>${bytes}</capacity><target><format type='raw'/></target></volume>`;
    return pool.createVolume(xml);
  }

  async function download(vol: StorageVolume): Promise<{ bytes: Buffer; holeBytes: number }> {
    const stream = conn.newStream();
    await vol.download(stream, 0, 0, VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM);
    const parts: Buffer[] = [];
    let holeBytes = 0;
    let expected = 0;
    for await (const range of stream.readSparse(MiB)) {
      assert.equal(range.offset, expected, 'ranges come in order without gaps');
      if (range.kind === 'hole') {
        parts.push(Buffer.alloc(range.length));
        holeBytes += range.length;
        expected += range.length;
      } else {
        parts.push(range.data);
        expected += range.data.length;
      }
    }
    stream.free();
    return { bytes: Buffer.concat(parts), holeBytes };
  }

  test('data, zero ranges, gaps and an unmentioned tail arrive as data and holes; the volume reads back the same', async (t) => {
    if (typeof host === 'string') return t.skip(host);
    const capacity = 64 * MiB;
    const vol = await rawVolume(capacity);
    const sink = await openStreamSink({ conn, volume: vol, capacityBytes: capacity, label: 'test volume', chunkBytes: MiB });
    const a = randomBytes(3 * MiB + 123);
    const b = randomBytes(2 * MiB);
    const small = randomBytes(4096);
    await sink.write(0, a);
    await sink.zero(a.length, 16 * MiB);
    await sink.write(20 * MiB, small); // a gap before it reads as zeros
    await sink.write(40 * MiB, b);
    await sink.finish();
    assert.equal(sink.bytesWritten, a.length + small.length + b.length);
    assert.equal(sink.holeBytes, capacity - sink.bytesWritten);
    const expected = Buffer.alloc(capacity);
    a.copy(expected, 0);
    small.copy(expected, 20 * MiB);
    b.copy(expected, 40 * MiB);
    const got = await download(vol);
    assert.equal(got.bytes.length, capacity);
    assert.ok(got.bytes.equals(expected), 'the volume holds the uploaded bytes');
    assert.ok(got.holeBytes >= capacity - 8 * MiB, `the holes were kept: ${got.holeBytes} bytes of holes read back`);
    const info = await host.virsh('vol-info', '--bytes', '--pool', host.pools.images.name, 'sink-0.img');
    const allocation = Number(/Allocation:\s+(\d+)/.exec(info.stdout)?.[1]);
    assert.ok(allocation <= sink.bytesWritten * 1.05 + MiB, `allocation ${allocation} bytes for ${sink.bytesWritten} bytes sent`);
    await vol.delete();
    vol.free();
  });

  test('a range before the last one is refused (RangeError) and abort leaves the stream usable for nothing', async (t) => {
    if (typeof host === 'string') return t.skip(host);
    const vol = await rawVolume(4 * MiB);
    const sink = await openStreamSink({ conn, volume: vol, capacityBytes: 4 * MiB, label: 'test volume' });
    await sink.write(MiB, Buffer.alloc(4096, 1));
    assert.throws(() => void sink.write(0, Buffer.alloc(4096)), RangeError);
    assert.throws(() => void sink.zero(3 * MiB, 2 * MiB), /outside the disk/);
    await sink.abort();
    await sink.abort();
    assert.throws(() => void sink.write(2 * MiB, Buffer.alloc(1)), /after the transfer ended/);
    await vol.delete();
    vol.free();
  });

  test('a sink over a range of the volume writes only there (the offset primitive of the qcow2 encoder)', async (t) => {
    if (typeof host === 'string') return t.skip(host);
    const vol = await rawVolume(8 * MiB);
    const first = await openStreamSink({ conn, volume: vol, capacityBytes: 8 * MiB, label: 'whole' });
    const all = randomBytes(8 * MiB);
    await first.write(0, all);
    await first.finish();
    const patch = randomBytes(MiB);
    const range = await openStreamSink({ conn, volume: vol, offsetBytes: 2 * MiB, capacityBytes: MiB, label: 'range' });
    await range.write(0, patch);
    await range.finish();
    patch.copy(all, 2 * MiB);
    assert.ok((await download(vol)).bytes.equals(all));
    await vol.delete();
    vol.free();
  });
});
