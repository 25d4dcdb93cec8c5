// Block-device pools for the tests: a `disk` pool on a loop device with a partition table (losetup -P, parted), and whether LVM can work here (device-mapper).
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection, createPool, lookupPool } from '../../src/libvirt/index.js';
import { ensureLibvirtd, TEST_URI, uniqueName } from '../libvirt/harness.js';

/** A transient libvirt `disk` pool on a loop device, and its removal. */
export interface DiskPool {
  readonly name: string;
  /** The loop device, e.g. /dev/loop3. */
  readonly device: string;
  /** Destroys the pool, detaches the loop device (its partitions go with it) and removes the backing file; idempotent, never throws. */
  cleanup(): Promise<void>;
}

/** True when `command` is on the PATH. */
export async function found(command: string): Promise<boolean> {
  return (await execa('sh', ['-c', `command -v ${command}`], { reject: false })).exitCode === 0;
}

/** Destroys the transient pool `name` if it is there, then closes `conn`; never throws. */
export async function destroyTransientPool(conn: Connection, name: string): Promise<void> {
  try {
    const pool = lookupPool(conn, name);
    if (pool?.isActive()) await pool.destroy();
    pool?.free();
  } catch {
    // Already gone.
  }
  conn.close();
}

/** Why loop-device pools cannot be made here (not root, no /dev/loop-control, no losetup or parted), or undefined. */
export async function loopDevicesMissing(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'loop devices need root';
  if (!existsSync('/dev/loop-control')) return 'no /dev/loop-control (the kernel has no loop driver)';
  for (const tool of ['losetup', 'parted']) if (!(await found(tool))) return `${tool} is not installed (scripts/system-packages.sh installs it)`;
  return undefined;
}

/**
 * Why LVM (a `logical` pool) cannot work here, or undefined: it needs the kernel's device-mapper
 * (/dev/mapper/control that opens, and `dmsetup version` reaching the driver) and the LVM tools.
 */
export async function deviceMapperMissing(): Promise<string | undefined> {
  if (!existsSync('/dev/mapper/control')) return 'the kernel has no device-mapper (/dev/mapper/control is missing), which LVM needs';
  if (!(await found('dmsetup'))) return 'dmsetup is not installed';
  const r = await execa('dmsetup', ['version'], { reject: false });
  if (r.exitCode !== 0 || !/Driver version/.test(String(r.stdout))) return `the kernel has no device-mapper, which LVM needs (dmsetup version: ${String(r.stderr).split('\n')[0]})`;
  if (!(await found('vgcreate'))) return 'the LVM tools are not installed (lvm2)';
  return undefined;
}

/**
 * A sparse file of `sizeBytes` on a loop device with an empty `label` partition table, as a
 * transient `disk` pool (virStoragePoolCreateXML) on qemu:///system. Call cleanup() in `after`.
 */
export async function diskPool(sizeBytes: number, label: 'msdos' | 'gpt' = 'msdos'): Promise<DiskPool> {
  await ensureLibvirtd();
  const name = uniqueName('virt-ovf-test-disk');
  const dir = await mkdtemp(join(tmpdir(), `${name}-`));
  const file = join(dir, 'disk.img');
  await writeFile(file, '').then(() => truncate(file, sizeBytes)).catch(async (err: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw err;
  });
  let device: string | undefined;
  const conn = Connection.open(TEST_URI);
  let done = false;
  const cleanup = async (): Promise<void> => {
    if (done) return;
    done = true;
    await destroyTransientPool(conn, name);
    if (device) await execa('losetup', ['-d', device], { reject: false });
    await rm(dir, { recursive: true, force: true });
  };
  try {
    device = String((await execa('losetup', ['--find', '--show', '--partscan', file])).stdout).trim();
    await execa('parted', ['-s', device, 'mklabel', label]);
    const format = label === 'msdos' ? 'dos' : 'gpt';
    const xml = `<pool type='disk'><name>${name}</name><source><device path='${device}'/><format type='${format}'/></source><target><path>/dev</path></target></pool>`;
    (await createPool(conn, xml)).free();
  } catch (err) {
    await cleanup();
    throw err;
  }
  return { name, device, cleanup };
}
