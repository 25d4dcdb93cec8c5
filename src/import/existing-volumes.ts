// Existing volumes the admin names (--volume DISK=VOLUME): checked before anything is written
// (present, raw, large enough, used by no domain, blank), claimed instead of created, and their
// first and last MiB zeroed again by a rollback, so that they are as blank as they were found.
import { LibvirtSetupError } from '../errors.js';
import { heldByDomains, holderOf, type HeldFile } from '../export/protected.js';
import type { StorageVolume } from '../libvirt/index.js';
import type { PoolRules } from '../mapping/schema/pools.js';
import type { Rollback } from '../rollback.js';
import type { CreatedTarget, TargetStore } from '../storage/volumes.js';
import { plainChild } from '../xml/access.js';
import { parseXml } from '../xml/parse.js';
import { isPoolDriver } from '../transfer/pool-driver.js';
import { volumeEnds, type VolumeEnds } from './volume-ends.js';
import { poolRule, type DriveTarget, type TargetedDrive } from './targets.js';
import { driveKey } from './volume-choice.js';

/** Bytes at each end of an existing volume that must read as zeros before virt-ovf writes into it: partition tables (MBR, GPT and its backup), filesystem, LVM and RAID signatures lie there. */
export const END_CHECK_BYTES = 2 ** 20;

/** What the volume XML (virStorageVolGetXMLDesc) says of a volume; capacity in bytes. */
interface VolumeFacts {
  readonly capacityBytes: number;
  /** <target><format type>, when the volume has one. */
  readonly formatType?: string;
  readonly path: string;
}

async function volumeFacts(vol: StorageVolume, name: string): Promise<VolumeFacts> {
  const root = parseXml(await vol.xml(), `volume XML of "${name}"`);
  const capacityBytes = Number(plainChild(root, 'capacity')?.text ?? 'NaN');
  const formatType = plainChild(plainChild(root, 'target'), 'format')?.attrs.get('type') || undefined;
  return { capacityBytes, path: vol.path(), ...(formatType ? { formatType } : {}) };
}

/** The ranges checked and blanked again, [offset, length] in bytes: the first and last END_CHECK_BYTES (the whole volume when it is smaller than twice that). */
export function endRanges(capacityBytes: number): [number, number][] {
  if (capacityBytes <= 2 * END_CHECK_BYTES) return capacityBytes > 0 ? [[0, capacityBytes]] : [];
  return [[0, END_CHECK_BYTES], [capacityBytes - END_CHECK_BYTES, END_CHECK_BYTES]];
}

/** The first offset of a byte that is not zero in the volume's end ranges, or undefined when they are blank. */
async function firstDataAtEnds(ends: VolumeEnds, capacityBytes: number): Promise<number | undefined> {
  for (const [offset, length] of endRanges(capacityBytes)) {
    const at = await ends.firstData(offset, length);
    if (at !== undefined) return at;
  }
  return undefined;
}

/** A volume of `store` by name, or a LibvirtSetupError listing the pool's volumes. */
async function existingVolume(store: TargetStore & { kind: 'pool' }, name: string, key: string): Promise<StorageVolume> {
  const vol = store.pool.lookupVolume(name);
  if (vol) return vol;
  const names = (await store.pool.listVolumes()).map((v) => {
    const n = v.name();
    v.free();
    return n;
  });
  throw new LibvirtSetupError(`pool "${store.poolName}" has no volume "${name}" (--volume for disk ${key}; its volumes: ${names.join(', ') || 'none'})`, { option: 'existingVolumes' });
}

/**
 * Before anything is created, each drive whose target is an existing volume (target.existing):
 * the volume exists in the pool, is raw (in a pool of volume files), holds at least the disk's
 * capacity, no domain of the connection uses it (heldByDomains), and, unless `overwrite`, its
 * first and last MiB read as zeros (read through libvirt, or QEMU for rbd and iscsi-direct).
 * @throws LibvirtSetupError (exit 4, option `existingVolumes`, or `overwriteVolumes` for data
 *   found) naming the volume and the disk; LibvirtError when libvirt fails.
 */
export async function checkExistingVolumes(store: TargetStore, drives: readonly TargetedDrive[], opts: { pools: PoolRules; overwrite?: boolean }): Promise<void> {
  const existing = drives.filter((d): d is TargetedDrive & { target: DriveTarget } => d.target?.existing === true);
  if (existing.length === 0 || store.kind !== 'pool') return;
  const rule = poolRule(store.poolName, store.poolType, opts.pools);
  // A LUN or volume made since libvirt last looked (virStoragePoolRefresh; best effort).
  await store.pool.refresh().catch(() => undefined);
  let held: HeldFile[] | undefined;
  for (const d of existing) {
    const { name } = d.target;
    const key = driveKey(d);
    const vol = await existingVolume(store, name, key);
    try {
      const facts = await volumeFacts(vol, name);
      const where = `volume "${name}" of pool "${store.poolName}" (--volume for disk ${key})`;
      if (rule.storage === 'directory' && facts.formatType !== undefined && facts.formatType !== 'raw') {
        throw new LibvirtSetupError(`${where} is ${facts.formatType}; a disk is written raw, into a raw volume: name a raw volume`, { option: 'existingVolumes' });
      }
      held ??= await heldByDomains(store.conn);
      const holder = await holderOf(facts.path, held);
      if (holder) throw new LibvirtSetupError(`${where} is ${holder}: name a volume no domain uses`, { option: 'existingVolumes' });
      const ends = await volumeEnds(store, d.target, vol);
      try {
        const sizeBytes = ends.sizeBytes ?? facts.capacityBytes;
        if (d.capacityBytes > sizeBytes) throw new LibvirtSetupError(`${where} holds ${sizeBytes} bytes, and the disk needs ${d.capacityBytes}: name a larger volume`, { option: 'existingVolumes' });
        const at = opts.overwrite ? undefined : await firstDataAtEnds(ends, sizeBytes);
        if (at !== undefined) {
          throw new LibvirtSetupError(
            `${where} holds data (a byte that is not zero ${ends.exact ? 'at offset' : 'in the MiB from offset'} ${at}); virt-ovf writes only into a blank volume: wipe it (virsh vol-wipe --pool ${store.poolName} ${name}) or pass --overwrite-volumes`,
            { option: 'overwriteVolumes' },
          );
        }
      } finally {
        await ends.close();
      }
    } finally {
      vol.free();
    }
  }
}

/**
 * Takes the existing volume of `target` for a disk of `capacityBytes` (the virtual size, known
 * once the image is opened; the volume's size as QEMU sees it for a pool with its own QEMU
 * driver): nothing is created or journaled. When its ends were checked blank (target.blank,
 * checkExistingVolumes), the rollback zeroes them again.
 * @throws LibvirtSetupError when the volume vanished or is smaller than `capacityBytes`; LibvirtError; ToolError.
 */
export async function claimExisting(ctx: { readonly store: TargetStore; readonly rollback: Rollback }, target: DriveTarget, capacityBytes: number): Promise<CreatedTarget> {
  const { store } = ctx;
  if (store.kind !== 'pool') throw new LibvirtSetupError(`--volume names pool volumes, not files of ${store.dir}`, { option: 'existingVolumes' });
  const vol = await existingVolume(store, target.name, target.name);
  try {
    const facts = await volumeFacts(vol, target.name);
    let sizeBytes = facts.capacityBytes;
    if (isPoolDriver(target.transfer)) {
      // libvirt may report a LUN short (one block for iSCSI): QEMU's size is the one written.
      const ends = await volumeEnds(store, target, vol);
      await ends.close();
      sizeBytes = ends.sizeBytes ?? sizeBytes;
    }
    if (capacityBytes > sizeBytes) {
      throw new LibvirtSetupError(`volume "${target.name}" of pool "${store.poolName}" holds ${sizeBytes} bytes, and the disk's virtual size is ${capacityBytes}: name a larger volume`, { option: 'existingVolumes' });
    }
    if (target.blank) {
      ctx.rollback.add(`first and last MiB of volume ${target.name} (zeroed again)`, async () => {
        const again = store.pool.lookupVolume(target.name);
        if (!again) return;
        const ends = await volumeEnds(store, target, again);
        try {
          for (const [offset, length] of endRanges(sizeBytes)) await ends.zero(offset, length);
        } finally {
          await ends.close();
          again.free();
        }
      });
    }
    return { path: facts.path, format: 'raw', source: target.source, remove: async () => undefined };
  } finally {
    vol.free();
  }
}
