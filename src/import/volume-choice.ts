// Which drive goes into which existing volume (--volume DISK=VOLUME): the admin names a disk by
// its DiskSection ovf:diskId or by its target device in the domain, and a volume of the pool.
import { UsageError } from '../errors.js';
import type { DriveRecord } from '../mapping/drives.js';

/** How a drive is named in messages and matched by --volume: `ovf:diskId (dev)`. */
export function driveKey(d: DriveRecord): string {
  const id = d.kind !== 'generated' ? d.ovfDisk?.diskId : undefined;
  return id !== undefined ? `${id} (${d.placed.dev})` : d.placed.dev;
}

/**
 * The existing volume of each drive `wanted` names (DISK → VOLUME, DISK being the drive's
 * DiskSection ovf:diskId or its target device, e.g. `vmdisk1` or `sda`), by index in `drives`.
 * @throws UsageError (option `existingVolumes`) for a DISK that names no disk of the domain (the
 *   disks are listed), a CD-ROM drive, a drive named twice, a volume named for two drives, or
 *   volumes given for an output directory (`dir`: they are pool volumes).
 */
export function existingByDrive(drives: readonly DriveRecord[], wanted: Readonly<Record<string, string>>, into: 'pool' | 'dir'): Map<number, string> {
  const chosen = new Map<number, string>();
  const entries = Object.entries(wanted);
  if (entries.length === 0) return chosen;
  if (into === 'dir') throw new UsageError('--volume names existing volumes of a storage pool; it cannot be used with --output-dir', { option: 'existingVolumes' });
  const disks = drives.map((d, i) => [d, i] as const).filter(([d]) => d.placed.device === 'disk');
  const taken = new Map<string, string>();
  for (const [key, volume] of entries) {
    const match = drives.findIndex((d) => (d.kind !== 'generated' && d.ovfDisk?.diskId === key) || d.placed.dev === key);
    if (match < 0) {
      const known = disks.map(([d]) => driveKey(d)).join(', ') || 'none';
      throw new UsageError(`--volume ${key}=${volume}: the domain has no disk "${key}"; its disks (ovf:diskId and device): ${known}`, { option: 'existingVolumes' });
    }
    const drive = drives[match]!;
    if (drive.placed.device !== 'disk') throw new UsageError(`--volume ${key}=${volume}: ${driveKey(drive)} is a CD-ROM drive; --volume takes disks`, { option: 'existingVolumes' });
    if (chosen.has(match)) throw new UsageError(`--volume: disk ${driveKey(drive)} is named twice`, { option: 'existingVolumes' });
    const other = taken.get(volume);
    if (other !== undefined) throw new UsageError(`--volume: volume "${volume}" is named for two disks (${other} and ${driveKey(drive)})`, { option: 'existingVolumes' });
    taken.set(volume, driveKey(drive));
    chosen.set(match, volume);
  }
  return chosen;
}
