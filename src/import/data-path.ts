// The data path of a store's volumes (written here, a libvirt stream, or a QEMU driver of the pool type) and the words import --dry-run and inspect say it in.
import type { PoolRules, PoolTypeRule } from '../mapping/schema/pools.js';
import type { TargetStore } from '../storage/volumes.js';
import { chooseTransfer, type TransferChoice, type TransferMode } from '../transfer/choose.js';
import { rbdTransfer } from '../transfer/rbd.js';
import { poolRule, type TargetedDrive } from './targets.js';

/** A pool type's own QEMU driver (pools.json transfer other than volume-path): how it chooses, and what it is called. */
const QEMU_DRIVERS: { readonly [T in Exclude<PoolTypeRule['transfer'], 'volume-path'>]: { readonly words: string; choose(mode: TransferMode, poolName: string): TransferChoice } } = {
  'qemu-rbd': { words: "QEMU's rbd driver", choose: rbdTransfer },
};

/** How the volumes of a store are filled, and why. */
export interface DataPath {
  /** What the converters follow (src/transfer/choose.ts): `local` also for a QEMU driver run here. */
  readonly transfer: TransferChoice;
  /** `local` (written here at the volume's path), `stream` (virStorageVolUpload), or the pool type's QEMU driver (pools.json transfer, e.g. `qemu-rbd`). */
  readonly kind: 'local' | 'stream' | keyof typeof QEMU_DRIVERS;
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
  const driver = store.kind === 'pool' ? drives.map((d) => d.target?.transfer).find((t): t is keyof typeof QEMU_DRIVERS => t !== undefined && t !== 'volume-path') : undefined;
  if (driver && store.kind === 'pool') return { transfer: QEMU_DRIVERS[driver].choose(mode, store.poolName), kind: driver, words: QEMU_DRIVERS[driver].words };
  const storage = store.kind === 'pool' ? poolRule(store.poolName, store.poolType, pools).storage : undefined;
  const transfer = await chooseTransfer(store, mode, uri, storage);
  return { transfer, kind: transfer.path, words: transfer.path === 'stream' ? 'libvirt stream' : 'written here' };
}

/** One drive's data path as import --dry-run's stage line and inspect say it: `disk NAME: written here (REASON)`. */
export function dataPathLine(device: string, volume: string, path: DataPath): string {
  return `${device} ${volume}: ${path.words} (${path.transfer.reason})`;
}
