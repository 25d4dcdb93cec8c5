// One record per domain drive for export: where its bytes are on the host, and the package file they become.
import { stat } from 'node:fs/promises';
import type { DomainDescription, DomainDisk } from '../domain/model.js';
import { LibvirtSetupError } from '../errors.js';
import { volumePath, type Connection } from '../libvirt/index.js';
import { busRules } from '../mapping/export-layout.js';
import type { DiskFile, DriveInput } from '../mapping/reverse.js';
import type { ExportTable } from '../mapping/schema/export.js';
import { imageInfo, type ImageFormat, type ImageInfo } from '../storage/qemu-img.js';
import type { AdapterType } from './vmdk/index.js';

/** Where a drive's bytes are read on the host. */
export interface HostSource {
  /** A file, a block device, a pool volume's path, or the backup copy of a running domain's disk. */
  readonly path: string;
  /** Its format, passed to qemu-img as -f (never probed): the <driver type>, raw for CD-ROM media. */
  readonly format: ImageFormat;
}

/** A domain <disk> and, when its bytes are carried, where they are read (before the package file is planned). */
export interface DriveSource {
  readonly disk: DomainDisk;
  readonly source?: HostSource;
}

/** The package file of an exported drive and everything writing it needs. Sizes in bytes. */
export interface PackageImage extends DiskFile {
  readonly source: HostSource;
  /** `qemu-img info` of a hard disk's source, asked once (the VMDK writer reuses it). */
  readonly info?: ImageInfo;
  /** ddb.adapterType of a streamOptimized VMDK, from the bus (mappings/export.json). */
  readonly adapterType: AdapterType;
}

/**
 * One domain drive as export carries it, built once by {@link describeDrives} and passed
 * through reverse mapping (mapping/reverse.ts) and package writing (package.ts): the domain
 * <disk> (device, bus, dev, address) and, when carried, its package image (href, target
 * format, virtual size = capacityBytes, host source, adapter type).
 */
export interface ExportDisk extends DriveInput {
  readonly image?: PackageImage;
}

/**
 * Where each domain <disk>'s bytes are on the host: the file, the block device, or the path of
 * the pool volume (looked up on `conn`). Devices other than export.json `sources.devices`
 * (floppies, LUNs) and disks without a readable source (network, empty CD-ROM) get none.
 * @returns one entry per domain disk, in domain order.
 * @throws LibvirtSetupError when a volume or its pool does not exist, or a <driver type> is not
 *   one qemu-img reads (export.json `sources.formats`).
 */
export function resolveSources(conn: Connection, domain: DomainDescription, table: ExportTable): DriveSource[] {
  return domain.disks.map((disk) => {
    const s = disk.source;
    const carried = (table.sources.devices as readonly string[]).includes(disk.device);
    const path = !carried ? undefined : s.type === 'file' ? s.path : s.type === 'block' ? s.dev : s.type === 'volume' ? volumePath(conn, s.pool, s.volume) : undefined;
    if (carried && s.type === 'volume' && path === undefined) throw new LibvirtSetupError(`disk ${disk.dev}: volume "${s.volume}" not found in pool "${s.pool}"`);
    if (path === undefined) return { disk };
    const format = disk.device === 'cdrom' ? table.sources.cdromFormat : (disk.driverType ?? table.sources.driverTypeWhenAbsent);
    if (!(table.sources.formats as readonly string[]).includes(format)) throw new LibvirtSetupError(`disk ${disk.dev}: driver type "${format}" cannot be read by qemu-img`);
    return { disk, source: { path, format: format as ImageFormat } };
  });
}

/** How the package files are named and written: the domain name made safe, and the format of hard disks. */
export interface DrivePlan {
  readonly name: string;
  readonly diskFormat: 'vmdk' | 'qcow2' | 'raw';
}

/**
 * Builds the export record of each drive: for each one with a source, its href (export.json
 * `fileNames`, numbered in the order of the drives carried), format in the package (CD-ROM
 * media stay raw ISO files), virtual size (`qemu-img info` of a hard disk, asked once; the
 * file size of a medium) and VMDK adapter type.
 * @throws ToolError when qemu-img cannot read a hard disk; errors of stat(2).
 */
export async function describeDrives(sources: readonly DriveSource[], plan: DrivePlan, table: ExportTable, signal: AbortSignal): Promise<ExportDisk[]> {
  const names = table.fileNames;
  const out: ExportDisk[] = [];
  let n = 0;
  for (const { disk, source } of sources) {
    if (!source) {
      out.push({ disk });
      continue;
    }
    n++;
    const cdrom = disk.device === 'cdrom';
    const size = (await stat(source.path)).size;
    const info = cdrom ? undefined : await imageInfo({ path: source.path, offset: 0, size, format: source.format, wholeFile: true, label: `"${source.path}"` }, { signal });
    const format = cdrom ? table.sources.cdromFormat : plan.diskFormat;
    const ext = cdrom ? names.extensions.cdrom : names.extensions[format as 'vmdk' | 'qcow2' | 'raw'];
    const href = (cdrom ? names.cdrom : names.disk).replaceAll('{name}', plan.name).replaceAll('{n}', String(n)).replaceAll('{ext}', ext);
    const image: PackageImage = { href, format: format as 'vmdk' | 'qcow2' | 'raw', capacityBytes: info?.virtualSizeBytes ?? size, source, ...(info ? { info } : {}), adapterType: busRules(table, disk.bus).vmdkAdapterType };
    out.push({ disk, image });
  }
  return out;
}
