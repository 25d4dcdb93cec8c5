// The upload-at-offset primitive of the qcow2 encoder over libvirt: each upload is one
// virStorageVolUpload of a volume range through a plain (not sparse) stream.
import type { Connection, StorageVolume } from '../libvirt/index.js';
import { Qcow2StreamSink } from '../storage/qcow2-stream/sink.js';
import type { VolumeUploader } from '../storage/qcow2-stream/uploader.js';
import { STREAM_CHUNK_BYTES } from './stream-sink.js';

/**
 * Uploads byte ranges into `volume` (on `conn`) in place: one virStorageVolUpload per call at
 * `offset`, with the buffer's length, or length 0 (to the end, unbounded in a dir pool) for an
 * iterable whose length is not known up front; the chunks go through virStreamSend in pieces
 * of at most `chunkBytes`, and virStreamFinish waits until the daemon wrote them.
 * Not sparse on purpose: a hole in a sparse upload is an ftruncate(2) at its end on the daemon's
 * side (libvirt 9.0 fdstream), which would cut a qcow2 file short (measured, see
 * src/storage/qcow2-stream/sink.ts); the encoder sends no holes anyway.
 * @throws LibvirtError when libvirt refuses the upload or the stream fails; an iterable's error
 *   after aborting the stream (virStreamAbort).
 */
export function volumeUploader(conn: Connection, volume: StorageVolume, chunkBytes = STREAM_CHUNK_BYTES): VolumeUploader {
  return {
    async upload(offset, bytes) {
      const stream = conn.newStream();
      try {
        await volume.upload(stream, offset, bytes instanceof Uint8Array ? bytes.length : 0);
        try {
          for await (const chunk of bytes instanceof Uint8Array ? [bytes] : bytes) {
            for (let at = 0; at < chunk.length; at += chunkBytes) {
              const piece = chunk.subarray(at, Math.min(chunk.length, at + chunkBytes));
              await stream.sendAll(Buffer.from(piece.buffer, piece.byteOffset, piece.length));
            }
          }
        } catch (err) {
          await stream.abort().catch(() => undefined);
          throw err;
        }
        await stream.finish();
      } finally {
        stream.free();
      }
    },
  };
}

/**
 * The sink filling qcow2 volume `volume` through libvirt streams with guest bytes: the
 * sequential encoder (Qcow2StreamSink) over {@link volumeUploader}. The volume is freed when the
 * sink finishes or aborts. upload.ts's encoder for qcow2 volumes (openVolumeSink).
 */
export async function openQcow2VolumeSink(opts: { conn: Connection; volume: StorageVolume; capacityBytes: number; label: string }): Promise<Qcow2StreamSink> {
  const sink = new Qcow2StreamSink({ capacityBytes: opts.capacityBytes, uploader: volumeUploader(opts.conn, opts.volume), label: opts.label });
  const finish = sink.finish.bind(sink);
  const abort = sink.abort.bind(sink);
  sink.finish = () => finish().finally(() => opts.volume.free());
  sink.abort = () => abort().finally(() => opts.volume.free());
  return sink;
}
