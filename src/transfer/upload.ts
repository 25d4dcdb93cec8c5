// Fills a pool volume through a libvirt stream: the source's guest bytes, as the volume's format needs them.
import { LibvirtSetupError } from '../errors.js';
import type { Connection, StoragePool } from '../libvirt/index.js';
import type { DiskSink } from '../storage/sink.js';
import type { ImageSource } from '../storage/qemu-img.js';
import type { Reporter } from '../report.js';
import type { TargetStore } from '../storage/volumes.js';
import { volumeTransfer, type TransferChoice } from './choose.js';
import { copyImageToSink } from './nbd-copy.js';
import { holdStreamKeepAlive } from './keepalive.js';
import { openStreamSink } from './stream-sink.js';
import { openQcow2VolumeSink } from './volume-uploader.js';

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
  /** An existing volume that may hold old data: zero ranges are sent as zeros. */
  readonly holdsData?: boolean;
  readonly signal: AbortSignal;
  readonly onProgress?: (bytesDone: number) => void;
}

/**
 * Opens the sink that fills a volume through streams with its guest bytes: a sparse upload
 * (StreamSink) for raw; for qcow2 the sequential encoder (Qcow2StreamSink) over plain uploads at
 * offsets (volumeUploader), since a qcow2 volume takes the file's bytes, not the guest's.
 * `holdsData`: an existing raw volume the admin named, which may hold old data: zero ranges are
 * sent as zeros (StreamSink holdsData).
 * @throws LibvirtSetupError when the volume vanished; LibvirtError when libvirt refuses the upload.
 */
export async function openVolumeSink(opts: { conn: Connection; pool: StoragePool; poolName: string; volumeName: string; format: 'qcow2' | 'raw'; capacityBytes: number; holdsData?: boolean }): Promise<DiskSink> {
  const volume = opts.pool.lookupVolume(opts.volumeName);
  if (!volume) throw new LibvirtSetupError(`volume "${opts.volumeName}" vanished from pool "${opts.poolName}" before its upload`);
  const label = `volume "${opts.volumeName}" (libvirt stream, ${opts.format})`;
  if (opts.format === 'raw') return openStreamSink({ conn: opts.conn, volume, capacityBytes: opts.capacityBytes, label, ...(opts.holdsData ? { holdsData: true } : {}) });
  const release = holdStreamKeepAlive(opts.conn);
  const sink = await openQcow2VolumeSink({ conn: opts.conn, volume, capacityBytes: opts.capacityBytes, label });
  return {
    label,
    capacityBytes: sink.capacityBytes,
    sequential: true,
    // The file bytes uploaded (data clusters, tables, header) once finished; the guest data bytes until then.
    get bytesWritten() {
      return sink.result?.bytesUploaded ?? sink.bytesWritten;
    },
    write: (offset, data) => sink.write(offset, data),
    zero: (offset, length) => sink.zero(offset, length),
    finish: () => sink.finish().finally(release),
    abort: () => sink.abort().finally(release),
  };
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

/**
 * The data path of a volume just created in `store` (volumeTransfer, warnings to `reporter`);
 * `local` without a transfer choice (an output directory).
 * @throws what volumeTransfer throws.
 */
export function transferOf(choice: TransferChoice | undefined, store: TargetStore, name: string, path: string, reporter: Reporter): Promise<'local' | 'stream'> {
  if (!choice) return Promise.resolve('local');
  return volumeTransfer(choice, store, name, path, (message) => reporter.emit({ kind: 'warning', message }));
}

/**
 * uploadImage into a pool volume with the import's progress events (task `convert`, bytes of the
 * capacity) and a debug line with the data bytes sent.
 * @throws what uploadImage throws; LibvirtSetupError for a store that is no pool.
 */
export async function uploadReported(opts: Omit<UploadOptions, 'conn' | 'pool' | 'poolName' | 'onProgress'> & { store: TargetStore; reporter: Reporter }): Promise<void> {
  const { store, reporter, volumeName: name, capacityBytes } = opts;
  if (store.kind !== 'pool') throw new LibvirtSetupError(`a libvirt stream fills a pool volume, not ${store.dir}`);
  const progress = (bytesDone: number) => reporter.emit({ kind: 'progress', task: 'convert', name, bytesDone, bytesTotal: capacityBytes });
  const { bytesSent } = await uploadImage({ ...opts, ...store, onProgress: progress }).finally(() => reporter.emit({ kind: 'progress-end', task: 'convert', name }));
  reporter.emit({ kind: 'debug', message: `volume "${name}" (libvirt stream, ${opts.format}): ${bytesSent} bytes of data written` });
}
