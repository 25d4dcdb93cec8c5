// The volumes of pool types libvirt cannot upload into or download from (rbd, iscsi-direct):
// written and read on this machine by a QEMU driver of their own (pools.json transfer), opened
// here by the table's name for it.
import type { PoolTypeRule } from '../mapping/schema/pools.js';
import type { DiskSink } from '../storage/sink.js';
import type { TargetStore } from '../storage/volumes.js';
import { iscsiLocation, iscsiTransfer, openIscsiImage } from './iscsi.js';
import { openQemuImageSink } from './nbd-sink.js';
import type { QemuImage } from './qemu-image.js';
import { openRbdImage, rbdLocation, rbdTransfer } from './rbd.js';
import type { TransferChoice, TransferMode } from './choose.js';

/** A pools.json transfer that is a QEMU driver of the pool type. */
export type PoolDriver = Exclude<PoolTypeRule['transfer'], 'volume-path'>;

type PoolStore = TargetStore & { readonly kind: 'pool' };

/** Each QEMU driver: its name in messages, how it chooses its data path, how it opens a volume. */
const DRIVERS: { readonly [D in PoolDriver]: { readonly words: string; choose(mode: TransferMode, poolName: string): TransferChoice; open(store: PoolStore, volume: string, path?: string): Promise<QemuImage> } } = {
  'qemu-rbd': { words: "QEMU's rbd driver", choose: rbdTransfer, open: (store, volume) => openRbdImage(store.conn, rbdLocation(store, volume)) },
  'qemu-iscsi': { words: "QEMU's iscsi driver", choose: iscsiTransfer, open: (store, volume, path) => openIscsiImage(store.conn, iscsiLocation(store, volume, path)) },
};

/** True when `transfer` (a target's pools.json transfer) is a QEMU driver of the pool type. */
export function isPoolDriver(transfer: PoolTypeRule['transfer'] | undefined): transfer is PoolDriver {
  return transfer !== undefined && transfer !== 'volume-path';
}

/** The words for a driver ("QEMU's rbd driver") and its data path choice (a libvirt stream refused). @throws UsageError (option `transfer`) for mode stream. */
export function driverPath(driver: PoolDriver, mode: TransferMode, poolName: string): { words: string; transfer: TransferChoice } {
  return { words: DRIVERS[driver].words, transfer: DRIVERS[driver].choose(mode, poolName) };
}

/**
 * Opens volume `volume` (its libvirt path `path`) of `store` for QEMU through `driver`: the node,
 * `json:` filename and secret objects (a key or password in a 0600 file; call release() once QEMU
 * has started).
 * @throws LibvirtSetupError when the pool does not say where the volume is, or its secret is
 *   missing or private.
 */
export function openDriverImage(driver: PoolDriver, store: PoolStore, volume: string, path?: string): Promise<QemuImage> {
  return DRIVERS[driver].open(store, volume, path);
}

/**
 * A DiskSink writing volume `volume` through qemu-nbd and `driver`: holes are left unwritten in a
 * new volume, written as zeros in one that `holdsData` (an existing volume or LUN).
 * @throws what openDriverImage and qemu-nbd's start throw.
 */
export async function openDriverSink(driver: PoolDriver, store: PoolStore, volume: string, opts: { path?: string; label: string; signal?: AbortSignal; holdsData?: boolean }): Promise<DiskSink> {
  const image = await openDriverImage(driver, store, volume, opts.path);
  return openQemuImageSink(image, { zeroInitialized: opts.holdsData !== true, label: `${opts.label} (qemu-nbd, ${image.label})`, ...(opts.signal ? { signal: opts.signal } : {}) });
}
