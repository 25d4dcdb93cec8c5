// A byte range of a volume on the host of a libvirt connection, read through one ranged download.
import type { Connection, StorageVolume } from '../libvirt/index.js';

/** Bytes per virStreamRecv (libvirt caps a stream packet at 256 KiB; larger asks are filled in several). */
export const RECV_BYTES = 4 * 2 ** 20;

/**
 * `length` bytes at `offset` of the volume's file (virStorageVolDownload with offset and
 * length, no flags): fewer past the end of the file.
 * @throws LibvirtError when libvirt fails (a pool type without download, e.g. rbd or iscsi-direct).
 */
export async function downloadRange(conn: Connection, volume: StorageVolume, offset: number, length: number): Promise<Buffer> {
  const stream = conn.newStream();
  try {
    await volume.download(stream, offset, length, 0);
    const out = Buffer.alloc(length);
    let got = 0;
    for (;;) {
      const b = await stream.recv(Math.max(1, Math.min(RECV_BYTES, length - got)));
      if (b.length === 0) break;
      b.copy(out, got, 0, Math.min(b.length, length - got));
      got += b.length;
    }
    await stream.finish();
    return out.subarray(0, Math.min(got, length));
  } finally {
    stream.free();
  }
}
