// Which way a disk's bytes reach its pool volume: written here in place (local) or sent through a libvirt stream.
import { stat, statfs } from 'node:fs/promises';
import { LibvirtSetupError, UsageError } from '../errors.js';
import type { StorageVolume } from '../libvirt/index.js';
import type { TargetStore } from '../storage/volumes.js';

/** The `transfer` option: `auto` (local when the pool's storage is visible here, else stream), or forced. */
export type TransferMode = 'auto' | 'local' | 'stream';

/** The data path of a store's volumes and why it was taken (said by --dry-run and the import's stage lines). */
export interface TransferChoice {
  /** `local`: qemu-img (or a decoder) writes the volume's path on this machine; `stream`: virStorageVolUpload. */
  readonly path: 'local' | 'stream';
  readonly reason: string;
  /** The mode that chose it: with `auto`, a volume that turns out not to be visible here goes through a stream instead. */
  readonly mode: TransferMode;
}


/**
 * True when `uri` reaches a daemon on this machine through its Unix socket: no host name and no
 * network transport (`qemu:///system`, `qemu+unix:///session`). Any host, even 127.0.0.1, may be
 * another machine or another mount namespace, so it is not local.
 */
export function isLocalConnection(uri: string): boolean {
  const m = /^([a-z0-9-]+)(?:\+([a-z0-9-]+))?:\/\/([^/?]*)\//i.exec(uri);
  if (!m) return false;
  const transport = m[2]?.toLowerCase();
  return m[3] === '' && (transport === undefined || transport === 'unix');
}

/** A pool's `<target><permissions>` (mode octal, owner and group ids), when the pool XML has them. */
function poolPermissions(xml: string): { mode?: number; owner?: number; group?: number } {
  const perms = /<target>[\s\S]*?<permissions>([\s\S]*?)<\/permissions>/.exec(xml)?.[1] ?? '';
  const num = (tag: string, radix: number) => {
    const v = new RegExp(`<${tag}>\\s*(-?[0-9]+)\\s*</${tag}>`).exec(perms)?.[1];
    return v === undefined ? undefined : parseInt(v, radix);
  };
  const mode = num('mode', 8);
  const owner = num('owner', 10);
  const group = num('group', 10);
  return { ...(mode !== undefined ? { mode } : {}), ...(owner !== undefined ? { owner } : {}), ...(group !== undefined ? { group } : {}) };
}

/** What a pool's <target><path> holds (mappings/pools.json storage): volume files, device nodes, or nothing. */
export type PoolStorage = 'directory' | 'devices' | 'network';

/**
 * Why the pool's target path on this machine is not the pool's storage, or undefined when it is
 * (as far as the pool tells): the path exists here, with the owner, group and mode the pool XML
 * reports, and, for a pool whose `storage` is a directory of volume files (default), on a
 * filesystem of the pool's capacity (statfs).
 */
export async function poolNotHere(store: TargetStore & { kind: 'pool' }, storage?: PoolStorage): Promise<string | undefined> {
  const path = store.poolPath;
  if (path === undefined) return `pool "${store.poolName}" (type ${store.poolType}) has no target path`;
  const st = await stat(path).catch(() => undefined);
  if (!st) return `the pool's path ${path} does not exist on this machine`;
  const perms = poolPermissions(await store.pool.xml());
  const differ: string[] = [];
  if (perms.mode !== undefined && perms.mode !== (st.mode & 0o7777)) differ.push(`mode ${(st.mode & 0o7777).toString(8)} here, ${perms.mode.toString(8)} in the pool`);
  if (perms.owner !== undefined && perms.owner !== -1 && perms.owner !== st.uid) differ.push(`owner ${st.uid} here, ${perms.owner} in the pool`);
  if (perms.group !== undefined && perms.group !== -1 && perms.group !== st.gid) differ.push(`group ${st.gid} here, ${perms.group} in the pool`);
  // Only a directory of volume files has the pool's size (a disk or logical pool's /dev does not).
  if (st.isDirectory() && (storage ?? 'directory') === 'directory') {
    const fs = await statfs(path).catch(() => undefined);
    const { capacityBytes } = await store.pool.info();
    if (fs && capacityBytes > 0 && fs.blocks * fs.bsize !== capacityBytes) differ.push(`a filesystem of ${fs.blocks * fs.bsize} bytes here, ${capacityBytes} in the pool`);
  }
  return differ.length > 0 ? `${path} on this machine is not the pool's storage (${differ.join('; ')})` : undefined;
}

/**
 * Chooses the data path of a store's volumes. An output directory is local. For a pool: `stream`
 * when asked; `local` when asked and the pool's storage is visible here (poolNotHere), refused
 * otherwise; `auto` is local only on a local connection (isLocalConnection) whose pool path is
 * visible here, and a stream otherwise. The volume itself is checked again once it exists
 * (sameVolumeHere).
 * @throws UsageError (option `transfer`) for a stream into an output directory; LibvirtSetupError
 *   (option `transfer`) for `local` when the pool's storage is not visible here; LibvirtError
 *   when the pool cannot be read.
 */
export async function chooseTransfer(store: TargetStore, mode: TransferMode, uri: string, storage?: PoolStorage): Promise<TransferChoice> {
  if (store.kind === 'dir') {
    if (mode === 'stream') throw new UsageError('a libvirt stream writes into a storage pool volume, not into an output directory; choose a pool, or transfer auto', { option: 'transfer' });
    return { path: 'local', mode, reason: `the output directory ${store.dir} is on this machine` };
  }
  if (mode === 'stream') return { path: 'stream', mode, reason: 'transfer stream was asked' };
  const notHere = await poolNotHere(store, storage);
  if (mode === 'local') {
    if (notHere) throw new LibvirtSetupError(`cannot write pool "${store.poolName}" of ${uri} from this machine: ${notHere}; choose transfer stream (or auto)`, { option: 'transfer' });
    return { path: 'local', mode, reason: `transfer local was asked and ${store.poolPath} is visible here` };
  }
  if (!isLocalConnection(uri)) return { path: 'stream', mode, reason: `${uri} is a remote connection` };
  if (notHere) return { path: 'stream', mode, reason: notHere };
  return { path: 'local', mode, reason: `${store.poolPath} of the local connection is visible here` };
}

/** `sec.nsec` of a volume XML `<timestamps>` child as nanoseconds, or undefined. */
function timestamp(xml: string, tag: string): bigint | undefined {
  const m = new RegExp(`<timestamps>[\\s\\S]*?<${tag}>(\\d+)(?:\\.(\\d{1,9}))?</${tag}>`).exec(xml);
  return m ? BigInt(m[1]!) * 1_000_000_000n + BigInt((m[2] ?? '0').padEnd(9, '0')) : undefined;
}

/**
 * Proves that `path` on this machine is the volume libvirt just created: the modification and
 * change times of the volume XML's `<timestamps>` (nanoseconds, read by the daemon with stat(2))
 * equal those of a local stat of the path. Returns why not, or undefined when it is the same.
 * @throws LibvirtError when the volume XML cannot be read.
 */
export async function sameVolumeHere(volume: StorageVolume, path: string): Promise<string | undefined> {
  const xml = await volume.xml();
  const mtime = timestamp(xml, 'mtime');
  const ctime = timestamp(xml, 'ctime');
  if (mtime === undefined || ctime === undefined) return `libvirt reports no timestamps for ${path}, so it cannot be told apart from a file of that name here`;
  const st = await stat(path, { bigint: true }).catch(() => undefined);
  if (!st) return `${path} does not exist on this machine`;
  if (st.mtimeNs !== mtime || st.ctimeNs !== ctime) return `${path} on this machine is another file than the volume (its times differ from the pool's)`;
  return undefined;
}

/**
 * The data path of one volume just created in a pool, when the store's choice was local: the
 * volume must be the file at its path here (sameVolumeHere). Otherwise `auto` falls back to a
 * stream (with a warning through `warn`) and `local` is refused.
 * @throws LibvirtSetupError (option `transfer`) when `local` was asked and the volume is not the file here.
 */
export async function volumeTransfer(choice: TransferChoice, store: TargetStore, name: string, path: string, warn: (message: string) => void): Promise<'local' | 'stream'> {
  if (choice.path === 'stream' || store.kind === 'dir') return choice.path;
  const volume = store.pool.lookupVolume(name);
  if (!volume) return 'local';
  try {
    const why = await sameVolumeHere(volume, path);
    if (why === undefined) return 'local';
    if (choice.mode === 'local') throw new LibvirtSetupError(`cannot write volume "${name}" of pool "${store.poolName}" from this machine: ${why}; choose transfer stream (or auto)`, { option: 'transfer' });
    warn(`volume "${name}": ${why}; its bytes go through a libvirt stream`);
    return 'stream';
  } finally {
    volume.free();
  }
}
