// Generates a tiny bootable test appliance (MBR that prints a marker on COM1) as raw, streamOptimized VMDK, OVF, manifest and OVA.
// The pieces: appliance/boot-sector.ts, appliance/disk.ts, appliance/descriptor.ts, appliance/boot-check.ts.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import { bootSector, SECTOR_SIZE } from './appliance/boot-sector.js';
import { renderOvf } from './appliance/descriptor.js';
import { writeRawDisk } from './appliance/disk.js';

/** Default appliance name (file prefix and VirtualSystem ovf:id). */
export const DEFAULT_NAME = 'tinyvm';
/** Default text the boot sector prints on COM1. */
export const DEFAULT_MARKER = 'VIRT-OVF-APPLIANCE-BOOT-OK';
/** Default virtual disk size, in bytes (1 MiB). */
export const DEFAULT_DISK_SIZE_BYTES = 1024 * 1024;

/** Streams a file through a hash; returns lowercase hex. */
export async function fileDigest(path: string, algorithm: 'sha256' | 'sha1'): Promise<string> {
  const hash = createHash(algorithm);
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** Bytes of guest data qemu-img reports as allocated (and not zero) in an image. */
async function populatedBytes(path: string, format: string): Promise<number> {
  const { stdout } = await execa('qemu-img', ['map', '-f', format, '--output=json', path]);
  const extents = JSON.parse(stdout) as Array<{ length: number; data: boolean; zero: boolean }>;
  return extents.filter((e) => e.data && !e.zero).reduce((sum, e) => sum + e.length, 0);
}

// ---------------------------------------------------------------------------
// Public builder
// ---------------------------------------------------------------------------

/** Options of {@link buildAppliance}. */
export interface ApplianceOptions {
  /** Output directory (created if missing). */
  dir: string;
  /** File prefix and VirtualSystem id; `[A-Za-z0-9._-]+`. Default {@link DEFAULT_NAME}. */
  name?: string;
  /** Text printed on COM1 at boot. Default {@link DEFAULT_MARKER}. */
  marker?: string;
  /** Disk controller in the descriptor. Default `sata`. */
  controller?: 'sata' | 'pvscsi';
  /** Virtual disk size in bytes, a multiple of 512. Default 1 MiB. */
  diskSizeBytes?: number;
  /**
   * `boot`: only the boot sector is written. `mixed` (benchmarks): 1 MiB chunks, 40% never
   * written, 40% compressible text, 20% random, boot sector at LBA 0. Default `boot`.
   */
  content?: 'boot' | 'mixed';
  /** Manifest digest algorithm, or `none` for no `.mf`. Default `sha256`. */
  manifest?: 'sha256' | 'sha1' | 'none';
  /** Pack an `.ova` (ustar: OVF, manifest, disk). Default true. */
  ova?: boolean;
}

/** Paths (absolute when `dir` is) of what {@link buildAppliance} wrote. */
export interface ApplianceResult {
  /** `NAME.ova`, unless `ova: false`. */
  ova?: string;
  /** `NAME.ovf`. */
  ovf: string;
  /** `NAME-disk1.vmdk` (streamOptimized). */
  vmdk: string;
  /** `NAME.mf`, unless `manifest: 'none'`. */
  mf?: string;
  /** The text the guest prints on COM1. */
  marker: string;
  /** `NAME-disk1.raw`, the bootable source image. */
  rawDisk: string;
}

/**
 * Writes a bootable appliance into `opts.dir`: raw disk, streamOptimized VMDK (qemu-img),
 * ovftool-style OVF 1.0 descriptor, manifest and OVA (GNU tar, ustar).
 */
export async function buildAppliance(opts: ApplianceOptions): Promise<ApplianceResult> {
  const name = opts.name ?? DEFAULT_NAME;
  const marker = opts.marker ?? DEFAULT_MARKER;
  const controller = opts.controller ?? 'sata';
  const sizeBytes = opts.diskSizeBytes ?? DEFAULT_DISK_SIZE_BYTES;
  const content = opts.content ?? 'boot';
  const manifest = opts.manifest ?? 'sha256';
  const wantOva = opts.ova ?? true;
  if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.')) {
    throw new RangeError(`invalid appliance name ${JSON.stringify(name)}`);
  }
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < SECTOR_SIZE || sizeBytes % SECTOR_SIZE !== 0) {
    throw new RangeError(`diskSizeBytes must be a positive multiple of ${SECTOR_SIZE}, got ${sizeBytes}`);
  }
  const sector = bootSector(marker);
  await mkdir(opts.dir, { recursive: true });

  const ovfName = `${name}.ovf`;
  const mfName = `${name}.mf`;
  const vmdkName = `${name}-disk1.vmdk`;
  const rawDisk = join(opts.dir, `${name}-disk1.raw`);
  const vmdk = join(opts.dir, vmdkName);
  const ovf = join(opts.dir, ovfName);

  // 1. raw disk
  await writeRawDisk(rawDisk, sector, sizeBytes, content);

  // 2. streamOptimized VMDK
  await execa('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized', rawDisk, vmdk]);

  // 3. descriptor
  const vmdkSizeBytes = (await stat(vmdk)).size;
  const populatedSizeBytes = await populatedBytes(vmdk, 'vmdk');
  await writeFile(
    ovf,
    renderOvf({ name, vmdkFile: vmdkName, vmdkSizeBytes, capacityBytes: sizeBytes, populatedSizeBytes, controller }),
  );

  const result: ApplianceResult = { ovf, vmdk, marker, rawDisk };

  // 4. manifest
  if (manifest !== 'none') {
    const tag = manifest === 'sha256' ? 'SHA256' : 'SHA1';
    const lines = [];
    for (const [file, path] of [
      [ovfName, ovf],
      [vmdkName, vmdk],
    ] as const) {
      lines.push(`${tag}(${file})= ${await fileDigest(path, manifest)}\n`);
    }
    result.mf = join(opts.dir, mfName);
    await writeFile(result.mf, lines.join(''));
  }

  // 5. OVA
  if (wantOva) {
    const ova = join(opts.dir, `${name}.ova`);
    const members = manifest === 'none' ? [ovfName, vmdkName] : [ovfName, mfName, vmdkName];
    await execa('tar', ['--format=ustar', '-cf', ova, '-C', opts.dir, ...members]);
    result.ova = ova;
  }
  return result;
}
