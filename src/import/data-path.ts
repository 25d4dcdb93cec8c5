// The data path of a store's volumes (written here, a libvirt stream, or a QEMU driver of the pool type) and the words import --dry-run and inspect say it in.
import type { PoolRules } from '../mapping/schema/pools.js';
import type { TargetStore } from '../storage/volumes.js';
import { chooseTransfer, type TransferChoice, type TransferMode } from '../transfer/choose.js';
import { driverPath, isPoolDriver, type PoolDriver } from '../transfer/pool-driver.js';
import { poolRule, type TargetedDrive } from './targets.js';

/** How the volumes of a store are filled, and why. */
export interface DataPath {
  /** What the converters follow (src/transfer/choose.ts): `local` also for a QEMU driver run here. */
  readonly transfer: TransferChoice;
  /** `local` (written here at the volume's path), `stream` (virStorageVolUpload), or the pool type's QEMU driver (pools.json transfer, e.g. `qemu-rbd`). */
  readonly kind: 'local' | 'stream' | PoolDriver;
  /** The words for it: "written here", "libvirt stream", "QEMU's rbd driver". */
  readonly words: string;
}

/**
 * Chooses the data path of a store's volumes: a pool whose type writes through a QEMU driver of
 * its own (pools.json transfer, e.g. rbd) takes it whatever the connection; any other store is
 * chosen by chooseTransfer (`mode`, the connection URI `uri`, the pool type's storage).
 * @throws what chooseTransfer, rbdTransfer and poolRule throw (UsageError or LibvirtSetupError, option `transfer` or `pool`).
 */
export async function chooseDataPath(store: TargetStore, drives: readonly TargetedDrive[], pools: PoolRules, mode: TransferMode, uri: string): Promise<DataPath> {
  const driver = store.kind === 'pool' ? drives.map((d) => d.target?.transfer).find(isPoolDriver) : undefined;
  if (driver && store.kind === 'pool') return { ...driverPath(driver, mode, store.poolName), kind: driver };
  const storage = store.kind === 'pool' ? poolRule(store.poolName, store.poolType, pools).storage : undefined;
  const transfer = await chooseTransfer(store, mode, uri, storage);
  return { transfer, kind: transfer.path, words: transfer.path === 'stream' ? 'libvirt stream' : 'written here' };
}

/** One drive's data path as import --dry-run's stage line and inspect say it: `disk NAME: written here (REASON)`. */
export function dataPathLine(device: string, volume: string, path: DataPath): string {
  return `${device} ${volume}: ${path.words} (${path.transfer.reason})`;
}
