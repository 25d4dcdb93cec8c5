// Removing a partition a disk pool made, when libvirt cannot: `parted rm` on the partition's disk (parted(8)).
import { execa } from 'execa';
import { readFile, realpath, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { ToolError } from '../errors.js';
import { diesWithParent, trackChild } from '../journal/children.js';

/**
 * Removes partition `partitionPath` (e.g. /dev/loop3p2) of disk `device` with `parted -s DEVICE
 * rm N`, after checking on this machine that it is a partition of that very disk (sysfs:
 * /sys/class/block/NAME/partition gives N, its parent directory is the disk). For libvirt's disk
 * pools on disks whose name ends in a digit (loop, nvme, mmcblk): libvirt 9's virStorageVolDelete
 * runs `parted DEVICE rm pN` there and fails with "Partition doesn't exist".
 * @returns false when the partition is not a local partition of `device` (nothing done).
 * @throws ToolError when parted fails.
 */
export async function removePartition(device: string, partitionPath: string): Promise<boolean> {
  const part = await stat(partitionPath).catch(() => undefined);
  if (!part?.isBlockDevice()) return false;
  const name = basename(await realpath(partitionPath));
  const sys = `/sys/class/block/${name}`;
  const number = Number((await readFile(`${sys}/partition`, 'utf8').catch(() => '')).trim());
  const parent = basename(await realpath(`${sys}/..`).catch(() => ''));
  if (!Number.isInteger(number) || number < 1 || parent !== basename(await realpath(device).catch(() => device))) return false;
  const args = ['-s', device, 'rm', String(number)];
  const run = diesWithParent('parted', args);
  const child = execa(run.file, run.args, { reject: false, stdin: 'ignore' });
  const untrack = trackChild(child.pid, `parted ${args.join(' ')}`);
  try {
    const r = await child;
    if (r.exitCode !== 0) throw new ToolError(`parted could not remove partition ${number} of ${device}: ${String(r.stderr).trim()}`, { command: `parted ${args.join(' ')}`, ...(r.exitCode !== undefined ? { exitCode: r.exitCode } : {}), stderr: String(r.stderr) });
    return true;
  } finally {
    untrack();
  }
}
