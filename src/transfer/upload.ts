// Fills a pool volume through a libvirt stream: the source's guest bytes, as the volume's format needs them.
import { LibvirtSetupError } from '../errors.js';
import type { Connection, StoragePool } from '../libvirt/index.js';
import type { DiskSink } from '../storage/sink.js';
import type { ImageSource } from '../storage/qemu-img.js';
import { copyImageToSink } from './nbd-copy.js';
import { openStreamSink } from './stream-sink.js';

/**
 * Wraps a raw sink of a volume's file bytes into one taking guest bytes in the volume's format
 * (the qcow2 stream encoder). Registered by the encoder's module (setVolumeEncoder); absent, a
 * qcow2 volume cannot be filled through a stream.
 */
export type VolumeEncoder = (opts: { conn: Connection; volume: import('../libvirt/index.js').StorageVolume; capacityBytes: number; label: string }) => Promise<DiskSink>;

const encoders = new Map<string, VolumeEncoder>();

/** Makes `format` volumes fillable through streams (the qcow2 encoder registers itself here). */
export function setVolumeEncoder(format: 'qcow2', encoder: VolumeEncoder): void {
  encoders.set(format, encoder);
}

/** What uploadImage needs; sizes in bytes. */
export interface UploadOptions {
  readonly conn: Connection;
  readonly pool: StoragePool;
  readonly poolName: string;
  /** The volume, created empty in `pool` with this format and capacity. */
  readonly volumeName: string;
  readonly format: 'qcow2' | 'raw';
  readonly capacityBytes: number;
  readonly source: ImageSource;
  readonly signal: AbortSignal;
  readonly onProgress?: (bytesDone: number) => void;
}

/**
 * Opens the sink that fills a volume through a stream with its guest bytes: a sparse upload for
 * raw, the registered encoder in front of one for another format.
 * @throws LibvirtSetupError (option `volumeFormat`) for a format no encoder handles; LibvirtError.
 */
export async function openVolumeSink(opts: { conn: Connection; pool: StoragePool; poolName: string; volumeName: string; format: 'qcow2' | 'raw'; capacityBytes: number }): Promise<DiskSink> {
  const volume = opts.pool.lookupVolume(opts.volumeName);
  if (!volume) throw new LibvirtSetupError(`volume "${opts.volumeName}" vanished from pool "${opts.poolName}" before its upload`);
  const label = `volume "${opts.volumeName}" (stream, ${opts.format})`;
  if (opts.format === 'raw') return openStreamSink({ conn: opts.conn, volume, capacityBytes: opts.capacityBytes, label });
  const encoder = encoders.get(opts.format);
  if (!encoder) {
    volume.free();
    throw new LibvirtSetupError(`a ${opts.format} volume in pool "${opts.poolName}" is filled through a libvirt stream, which carries the volume's file bytes, and this build has no ${opts.format} stream encoder; choose volume format raw`, { option: 'volumeFormat' });
  }
  return encoder({ conn: opts.conn, volume, capacityBytes: opts.capacityBytes, label });
}

/**
 * Fills the volume with the guest bytes of `source` through a libvirt stream
 * (virStorageVolUpload, sparse): copyImageToSink feeds the sink openVolumeSink opened; the sink
 * is finished on success and aborted on failure. Returns the data bytes sent.
 * @throws what openVolumeSink and copyImageToSink throw; the signal's reason when aborted.
 */
export async function uploadImage(opts: UploadOptions): Promise<{ bytesSent: number }> {
  const sink = await openVolumeSink(opts);
  try {
    await copyImageToSink(opts.source, sink, { signal: opts.signal, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
    await sink.finish();
    return { bytesSent: sink.bytesWritten };
  } catch (err) {
    await sink.abort();
    throw err;
  }
}
