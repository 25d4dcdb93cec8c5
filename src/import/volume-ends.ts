// Reading and zeroing byte ranges of an existing volume (its ends, see existing-volumes.ts):
// through libvirt (ranged virStorageVolDownload / virStorageVolUpload, on this host or another),
// or, for pool types libvirt cannot stream (rbd, iscsi-direct), through qemu-io and the pool
// type's QEMU driver on this machine.
import type { StorageVolume } from '../libvirt/index.js';
import type { TargetStore } from '../storage/volumes.js';
import { downloadRange } from '../transfer/download-range.js';
import { openStreamSink } from '../transfer/stream-sink.js';
import { isPoolDriver, openDriverImage, type PoolDriver } from '../transfer/pool-driver.js';
import { rangeIsZero, virtualSizeBytes, writeZeroes } from '../transfer/qemu-io.js';
import type { DriveTarget } from './targets.js';

/** Byte ranges of one volume, read and zeroed. Offsets and lengths in bytes. */
export interface VolumeEnds {
  /** The volume's size as QEMU sees it, when read through a QEMU driver (libvirt may say less: an iSCSI LUN one block short). */
  readonly sizeBytes?: number;
  /** firstData gives the exact offset (else the start of the range holding data). */
  readonly exact: boolean;
  /** The offset of the first byte that is not zero in [offset, offset + length) (see `exact`), or undefined. */
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
 * another host; through qemu-io (rangeIsZero, writeZeroes) and the pool type's QEMU driver for
 * rbd and iscsi-direct volumes, whose size QEMU then gives.
 * @throws LibvirtError (from the returned methods) when libvirt refuses; ToolError when qemu-io
 *   or qemu-img fails; what openDriverImage throws.
 */
export async function volumeEnds(store: TargetStore & { kind: 'pool' }, target: DriveTarget, vol: StorageVolume): Promise<VolumeEnds> {
  if (isPoolDriver(target.transfer)) return driverEnds(store, target.transfer, target.name, vol.path());
  const { conn } = store;
  return {
    exact: true,
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

/** The ranges of a volume read and zeroed by qemu-io through the pool type's QEMU driver. */
async function driverEnds(store: TargetStore & { kind: 'pool' }, driver: PoolDriver, name: string, path: string): Promise<VolumeEnds> {
  const image = await openDriverImage(driver, store, name, path);
  try {
    const sizeBytes = await virtualSizeBytes(image);
    return {
      sizeBytes,
      exact: false,
      firstData: async (offset, length) => ((await rangeIsZero(image, offset, length)) ? undefined : offset),
      zero: (offset, length) => writeZeroes(image, offset, length),
      close: () => image.release(),
    };
  } catch (err) {
    await image.release();
    throw err;
  }
}
