// Reading and zeroing byte ranges of an existing volume (its ends, see existing-volumes.ts):
// through libvirt (ranged virStorageVolDownload / virStorageVolUpload, on this host or another).
import type { StorageVolume } from '../libvirt/index.js';
import type { TargetStore } from '../storage/volumes.js';
import { downloadRange } from '../transfer/download-range.js';
import { openStreamSink } from '../transfer/stream-sink.js';
import type { DriveTarget } from './targets.js';

/** Byte ranges of one volume, read and zeroed. Offsets and lengths in bytes. */
export interface VolumeEnds {
  /** The offset of the first byte that is not zero in [offset, offset + length), or undefined. */
  firstData(offset: number, length: number): Promise<number | undefined>;
  /** Writes zeros over [offset, offset + length). */
  zero(offset: number, length: number): Promise<void>;
  /** Releases what reading or writing needed. */
  close(): Promise<void>;
}

/**
 * The ranges of existing volume `vol` of `store` (the volume of `target`): read with ranged
 * downloads and zeroed with ranged, non-sparse uploads (virStorageVolDownload/Upload with offset
 * and length), which libvirt serves for file, block, iSCSI and SCSI volumes alike, here or on
 * another host.
 * @throws LibvirtError (from the returned methods) when libvirt refuses (a pool type without
 *   upload or download).
 */
export async function volumeEnds(store: TargetStore & { kind: 'pool' }, target: DriveTarget, vol: StorageVolume): Promise<VolumeEnds> {
  const { conn } = store;
  return {
    firstData: async (offset, length) => {
      const bytes = await downloadRange(conn, vol, offset, length);
      const at = bytes.findIndex((b) => b !== 0);
      return at < 0 ? undefined : offset + at;
    },
    zero: async (offset, length) => {
      const sink = await openStreamSink({ conn, volume: vol, offsetBytes: offset, capacityBytes: length, label: `volume "${target.name}" (libvirt stream)`, holdsData: true });
      try {
        await sink.zero(0, length);
        await sink.finish();
      } catch (err) {
        await sink.abort();
        throw err;
      }
    },
    close: async () => undefined,
  };
}
