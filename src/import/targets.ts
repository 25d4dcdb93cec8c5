// The volume each drive gets: name, format, and the <source> the domain will point at; the pool-type rules are mappings/pools.json.
import { basename, join } from 'node:path';
import type { DomainDiskSource } from '../domain/model.js';
import { LibvirtSetupError, UsageError } from '../errors.js';
import type { DriveRecord } from '../mapping/drives.js';
import type { PoolRules, PoolTypeRule } from '../mapping/schema/pools.js';
import type { SystemRules } from '../mapping/schema/system.js';
import type { PoolDefinition } from '../storage/pool-xml.js';
import type { TargetStore } from '../storage/volumes.js';
import { driveKey, existingByDrive } from './volume-choice.js';

/**
 * Where the volumes go: a libvirt pool by name (its definition, once opened; the free partition
 * names of a disk pool), or a host directory.
 */
export type Destination =
  | { readonly kind: 'pool'; readonly pool: string; readonly poolType?: string; readonly definition?: PoolDefinition; readonly partitionNames?: readonly string[] }
  | { readonly kind: 'dir'; readonly dir: string };

/** The volume (or file) import creates for a drive. */
export interface DriveTarget {
  /** Volume or file name: DOMAIN-DISKID.EXT (.qcow2, .img for raw disks, .iso for CD-ROM media), or a disk pool's partition name. */
  readonly name: string;
  readonly format: 'qcow2' | 'raw';
  /** The volume XML's <target><format type> (pools.json volumeFormatType; null: none); absent in a directory. */
  readonly volumeFormatType?: string | null;
  /** The domain's <source> for it. */
  readonly source: DomainDiskSource;
  /** How the bytes get there (pools.json transfer): the volume's path, or QEMU's rbd driver; absent in a directory. */
  readonly transfer?: PoolTypeRule['transfer'];
  /** The disk a disk pool's volume is a partition of (its <source><device>). */
  readonly partitionOf?: string;
  /** The volume takes its whole capacity in the pool (pools.json spaceTaken: a partition, a logical volume), not only its data. */
  readonly takesCapacity?: boolean;
  /** An existing volume the admin named (--volume): written raw, never created or removed, checked first (existing-volumes.ts). */
  readonly existing?: true;
  /** With `existing`: its ends are checked blank before writing (no --overwrite-volumes), so a rollback zeroes them again. */
  readonly blank?: true;
}

/** A drive record with its target; an empty CD-ROM drive has none. */
export type TargetedDrive = DriveRecord & { readonly target?: DriveTarget };

/** The destination of an opened store (the pool's type decides the format, naming and <source>); `partitionNames` for a disk pool. */
export function destinationOf(store: TargetStore, partitionNames?: readonly string[]): Destination {
  if (store.kind === 'dir') return { kind: 'dir', dir: store.dir };
  return { kind: 'pool', pool: store.poolName, poolType: store.poolType, definition: store.definition, ...(partitionNames ? { partitionNames } : {}) };
}

/**
 * The rules of a pool type (pools.json).
 * @throws LibvirtSetupError (exit 4, option `pool`) for a type the table does not know.
 */
export function poolRule(poolName: string, poolType: string, pools: PoolRules): PoolTypeRule {
  const rule = Object.hasOwn(pools.types, poolType) ? pools.types[poolType] : undefined;
  if (!rule) throw new LibvirtSetupError(`storage pool "${poolName}" is of type ${poolType}, which virt-ovf does not know (known: ${Object.keys(pools.types).join(', ')}); choose another pool`, { option: 'pool' });
  return rule;
}

/**
 * The rules of a pool type import creates a volume in (poolRule), refusing a type that creates
 * none (iscsi, iscsi-direct, scsi, mpath; gluster): the table's refusal and remedy, naming `what`
 * (the drive that would need the new volume).
 * @throws LibvirtSetupError (exit 4, option `pool`); what poolRule throws.
 */
export function creatingPoolRule(poolName: string, poolType: string, pools: PoolRules, what?: string): PoolTypeRule {
  const rule = poolRule(poolName, poolType, pools);
  if (!rule.createsVolumes) throw new LibvirtSetupError(`cannot import${what ? ` ${what}` : ''} into storage pool "${poolName}" (type ${poolType}): ${rule.refusal}; ${rule.remedy}`, { option: 'pool' });
  return rule;
}

/**
 * The disks' volume format: `wanted`, else the pool type's defaultFormat (pools.json: qcow2 on
 * file pools, raw on block pools and rbd), else formatWithoutPool (directories, or a pool not
 * opened, as with printXml).
 * @throws what poolRule throws; UsageError (option `volumeFormat`) when the pool type does not take `wanted`.
 */
export function volumeFormat(destination: Destination, rules: { system: SystemRules; pools: PoolRules }, wanted?: 'qcow2' | 'raw'): 'qcow2' | 'raw' {
  if (destination.kind === 'dir' || destination.poolType === undefined) return wanted ?? rules.system.volumes.formatWithoutPool;
  const rule = poolRule(destination.pool, destination.poolType, rules.pools);
  if (wanted && !rule.formats.includes(wanted)) throw new UsageError(`storage pool "${destination.pool}" (type ${destination.poolType}) takes ${rule.formats.join(' or ')} volumes, not ${wanted}`, { option: 'volumeFormat' });
  return wanted ?? rule.defaultFormat;
}

/**
 * The names of the next `count` partitions a disk pool on `device` gets (libvirt names a disk
 * pool's volume after its partition and refuses any other name): the device's base name, `p`
 * when it ends in a digit (loop0p1, nvme0n1p1; sdb1), the lowest numbers no volume in `taken` has.
 */
export function partitionNames(device: string, taken: readonly string[], count: number): string[] {
  const base = basename(device);
  const prefix = /\d$/.test(base) ? `${base}p` : base;
  const used = new Set(taken.filter((n) => n.startsWith(prefix)).map((n) => Number(n.slice(prefix.length))));
  const names: string[] = [];
  for (let n = 1; names.length < count; n++) if (!used.has(n)) names.push(`${prefix}${n}`);
  return names;
}

/**
 * Gives every drive that needs a volume (a file, generated media, an empty disk) its target;
 * CD-ROM media keep their format (system.json volumes.cdromFormat), disks take `format`. In a
 * pool, the pool type's rule (pools.json) names the volume and says how the domain's <disk>
 * refers to it: <source pool volume>, or the pool's network source with its hosts and auth (rbd).
 * A disk `existing` names (DISK → VOLUME, volume-choice.ts) gets that existing volume, raw
 * (`blank` unless `overwrite`: --overwrite-volumes).
 * @throws LibvirtSetupError (option `pool`) when a disk pool has fewer free partition names than
 *   drives, or a drive needs a new volume in a pool that creates none (creatingPoolRule);
 *   UsageError (option `existingVolumes`) as existingByDrive.
 */
export function assignTargets(drives: readonly DriveRecord[], destination: Destination, format: 'qcow2' | 'raw', rules: { system: SystemRules; pools: PoolRules }, existing: Readonly<Record<string, string>> = {}, overwrite = false): TargetedDrive[] {
  const { cdromFormat, extensions } = rules.system.volumes;
  const rule = destination.kind === 'pool' && destination.poolType !== undefined ? poolRule(destination.pool, destination.poolType, rules.pools) : undefined;
  const partitions = [...(destination.kind === 'pool' ? (destination.partitionNames ?? []) : [])];
  const chosen = existingByDrive(drives, existing, destination.kind);
  return drives.map((d, i) => {
    if (d.kind === 'empty' && d.placed.device === 'cdrom') return d;
    const volume = chosen.get(i);
    if (volume !== undefined && destination.kind === 'pool') {
      const extra = { ...(rule ? { transfer: rule.transfer } : {}), existing: true as const, ...(overwrite ? {} : { blank: true as const }) };
      return { ...d, target: { name: volume, format: 'raw' as const, volumeFormatType: null, source: poolSource(destination, rule, volume), ...extra } };
    }
    if (destination.kind === 'pool' && destination.poolType !== undefined) creatingPoolRule(destination.pool, destination.poolType, rules.pools, driveKey(d));
    const cdrom = d.placed.device === 'cdrom';
    const targetFormat = cdrom ? cdromFormat : format;
    let name = `${d.volumeBase}.${cdrom ? extensions.cdrom : extensions[targetFormat]}`;
    if (rule?.volumeName === 'partition') {
      const next = partitions.shift();
      if (next === undefined) throw new LibvirtSetupError(`storage pool "${(destination as { pool: string }).pool}" has no free partition number left for ${d.volumeBase}`, { option: 'pool' });
      name = next;
    }
    if (destination.kind === 'dir') return { ...d, target: { name, format: targetFormat, source: { type: 'file', path: join(destination.dir, name) } } };
    const volumeFormatType = rule ? (rule.volumeFormatType[targetFormat] ?? null) : targetFormat;
    const partitionOf = rule?.volumeName === 'partition' ? destination.definition?.devices[0] : undefined;
    const extra = { ...(rule ? { transfer: rule.transfer } : {}), ...(rule?.spaceTaken === 'capacity' ? { takesCapacity: true } : {}), ...(partitionOf ? { partitionOf } : {}) };
    return { ...d, target: { name, format: targetFormat, volumeFormatType, source: poolSource(destination, rule, name), ...extra } };
  });
}

/** The domain's <source> for volume `name` of a pool: <source pool volume>, or the pool's network source (rbd: CEPHPOOL/NAME, its monitors, its auth). */
function poolSource(destination: Destination & { kind: 'pool' }, rule: PoolTypeRule | undefined, name: string): DomainDiskSource {
  const def = destination.definition;
  if (rule?.domainDisk !== 'network' || !def) return { type: 'volume', pool: destination.pool, volume: name };
  return {
    type: 'network',
    protocol: rule.networkProtocol!,
    name: def.sourceName !== undefined ? `${def.sourceName}/${name}` : name,
    hosts: def.hosts,
    ...(def.auth ? { auth: def.auth } : {}),
  };
}

/**
 * The destination of an opened store, with the free partition names of a disk pool (read after
 * a virStoragePoolRefresh, `count` of them) and the pool type checked (poolRule).
 * @throws what poolRule throws; LibvirtSetupError (option `pool`) for a disk pool without a
 *   source device; LibvirtError when libvirt fails.
 */
export async function destinationFor(store: TargetStore, pools: PoolRules, count: number): Promise<Destination> {
  if (store.kind === 'dir') return destinationOf(store);
  if (poolRule(store.poolName, store.poolType, pools).volumeName !== 'partition') return destinationOf(store);
  const device = store.definition.devices[0];
  if (device === undefined) throw new LibvirtSetupError(`storage pool "${store.poolName}" (type ${store.poolType}) names no <source><device>`, { option: 'pool' });
  await store.pool.refresh();
  const volumes = await store.pool.listVolumes();
  const taken = volumes.map((v) => v.name());
  for (const v of volumes) v.free();
  return destinationOf(store, partitionNames(device, taken, count));
}
