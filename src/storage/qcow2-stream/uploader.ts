// The seam between the qcow2 encoder and where its file goes: "write these bytes at this
// offset of the file", as libvirt's virStorageVolUpload (offset, length) does for a volume.
import type { FileHandle } from 'node:fs/promises';

/**
 * Writes bytes of a file at a byte offset, in place: the bytes before and after the range are
 * kept and the file is never truncated (measured for virStorageVolUpload into a dir pool: see
 * sink.ts). `bytes` is one buffer, or chunks in order that the uploader pulls as it sends them
 * (its pace is the backpressure); the promise settles once every byte is written, or with the
 * transport's error. An iterable that throws aborts the upload with that error. A chunk is the
 * uploader's only until it asks the iterable for the next one (its buffer is then reused).
 * Implemented by src/transfer/stream-sink.ts over libvirt streams, and by {@link fileUploader}.
 */
export interface VolumeUploader {
  upload(offset: number, bytes: AsyncIterable<Uint8Array> | Uint8Array): Promise<void>;
}

/** An uploader writing into an open local file with positioned writes (pwrite(2)); never truncates. */
export function fileUploader(fh: FileHandle): VolumeUploader {
  const writeAll = async (data: Uint8Array, position: number): Promise<void> => {
    for (let done = 0; done < data.length; ) done += (await fh.write(data, done, data.length - done, position + done)).bytesWritten;
  };
  return {
    async upload(offset, bytes) {
      if (bytes instanceof Uint8Array) return writeAll(bytes, offset);
      let at = offset;
      for await (const chunk of bytes) {
        await writeAll(chunk, at);
        at += chunk.length;
      }
    },
  };
}
