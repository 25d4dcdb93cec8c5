// The volume each drive gets: name, format, and the <source> the domain will point at.
import { join } from 'node:path';
import type { DomainDiskSource } from '../domain/model.js';
import type { DriveRecord } from '../mapping/drives.js';
import type { SystemRules } from '../mapping/schema/system.js';
import type { TargetStore } from '../storage/volumes.js';

/** Where the volumes go: a libvirt pool by name (its type, once opened), or a host directory. */
export type Destination = { readonly kind: 'pool'; readonly pool: string; readonly poolType?: string } | { readonly kind: 'dir'; readonly dir: string };

/** The volume (or file) import creates for a drive. */
export interface DriveTarget {
  /** Volume or file name: DOMAIN-DISKID.EXT (.qcow2, .img for raw disks, .iso for CD-ROM media). */
  readonly name: string;
  readonly format: 'qcow2' | 'raw';
  /** The domain's <source> for it. */
  readonly source: DomainDiskSource;
}

/** A drive record with its target; an empty CD-ROM drive has none. */
export type TargetedDrive = DriveRecord & { readonly target?: DriveTarget };

/** The destination of an opened store (the pool's type decides the default format). */
export function destinationOf(store: TargetStore): Destination {
  return store.kind === 'dir' ? { kind: 'dir', dir: store.dir } : { kind: 'pool', pool: store.poolName, poolType: store.poolType };
}

/**
 * The disks' volume format: `wanted`, else by pool type (system.json volumes.formatByPoolType:
 * qcow2 on file-based pools, raw on block pools), else formatWithoutPool (directories, or a pool
 * not opened, as with printXml).
 */
export function volumeFormat(destination: Destination, system: SystemRules, wanted?: 'qcow2' | 'raw'): 'qcow2' | 'raw' {
  if (wanted) return wanted;
  const rules = system.volumes;
  if (destination.kind === 'dir' || destination.poolType === undefined) return rules.formatWithoutPool;
  return rules.formatByPoolType[destination.poolType] ?? rules.formatByPoolType['*']!;
}

/**
 * Gives every drive that needs a volume (a file, generated media, an empty disk) its target;
 * CD-ROM media keep their format (system.json volumes.cdromFormat), disks take `format`.
 */
export function assignTargets(drives: readonly DriveRecord[], destination: Destination, format: 'qcow2' | 'raw', system: SystemRules): TargetedDrive[] {
  const { cdromFormat, extensions } = system.volumes;
  return drives.map((d) => {
    if (d.kind === 'empty' && d.placed.device === 'cdrom') return d;
    const cdrom = d.placed.device === 'cdrom';
    const targetFormat = cdrom ? cdromFormat : format;
    const name = `${d.volumeBase}.${cdrom ? extensions.cdrom : extensions[targetFormat]}`;
    const source: DomainDiskSource = destination.kind === 'dir' ? { type: 'file', path: join(destination.dir, name) } : { type: 'volume', pool: destination.pool, volume: name };
    return { ...d, target: { name, format: targetFormat, source } };
  });
}
