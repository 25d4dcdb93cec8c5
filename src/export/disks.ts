// One record per domain drive for export: the disk as the guest sees it (source-qemu.ts), served
// for the whole export (source-server.ts), and the package file it becomes.
import { stat } from 'node:fs/promises';
import type { DomainDescription, DomainDisk } from '../domain/model.js';
import { LibvirtSetupError } from '../errors.js';
import { volumePath, type Connection } from '../libvirt/index.js';
import { vmdkAdapter } from '../mapping/export-layout.js';
import type { DiskFile, DriveInput } from '../mapping/reverse.js';
import type { ExportTable, VmdkAdapter } from '../mapping/schema/export.js';
import type { Reporter } from '../report.js';
import { imageInfo, type ImageInfo, type ImageSource } from '../storage/qemu-img.js';
import { SourceProblem, viewFilename, viewOf, type DiskView } from './source-qemu.js';
import { serveView, type OpenSecrets, type ServedView } from './source-server.js';
import type { StorageSource } from './source-xml.js';
import type { StreamedDisk } from './stream-guest.js';

/** A drive's bytes as the guest sees them, served over NBD for the whole export. */
export interface HostSource extends DiskView {
  /** The NBD server holding the disk open (and QEMU's image locks) until the export ends. */
  readonly served: Pick<ServedView, 'socket' | 'filename'>;
  /**
   * What qemu-img opens to read the guest bytes: the view itself when every image of its
   * chain is local (qemu-img reads the files beside the daemon, faster than over NBD; both
   * only read, so QEMU's locks let them), else the served disk, raw (one connection to a
   * network server).
   */
  readonly image: ImageSource;
  /** The view as a json: pseudo-filename for qemu-img with -f format (the VMDK writer maps it to read clusters in place). */
  readonly filename: string;
  /** The disk is a volume on a host whose storage is not visible here, read through libvirt streams (source-stream.ts); nothing above is served then. */
  readonly stream?: StreamedDisk;
}

/**
 * A domain <disk> and, when its bytes are carried, how QEMU opens them (`view`), or why it
 * cannot (`problem`, a sentence naming the disk); before the disk is served.
 */
export interface DriveSource {
  readonly disk: DomainDisk;
  readonly view?: DiskView;
  readonly problem?: string;
}

/** A domain <disk> and, when its bytes are carried, the served source they are read from. */
export interface ServedDrive {
  readonly disk: DomainDisk;
  readonly source?: HostSource;
}

/** The package file of an exported drive and everything writing it needs. Sizes in bytes. */
export interface PackageImage extends DiskFile {
  readonly source: HostSource;
  /** `qemu-img info` of a hard disk (of its top image, or of the served bytes of a network disk), asked once (the VMDK writer reuses it). */
  readonly info?: ImageInfo;
  /** ddb.adapterType of a streamOptimized VMDK and its geometry, from the bus (mappings/export.json vmdkAdapters). */
  readonly adapter: VmdkAdapter;
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

/** What names a disk in messages: device, dev and where its bytes are. */
function describeDisk(disk: DomainDisk, where?: string): string {
  return `${disk.device} ${disk.dev}${where ? ` (${where})` : ''}`;
}

/**
 * How each domain <disk> is opened as QEMU opens it, from its storage source in the domain XML
 * (`sources`, by target dev; source-xml.ts): the view (source-qemu.ts viewOf; a pool volume is
 * looked up on `conn`), or the problem that keeps it from being read. Devices other than
 * export.json `sources.devices` (floppies, LUNs) and CD-ROM drives without a medium get neither.
 * @returns one entry per domain disk, in domain order.
 */
export function resolveSources(conn: Connection, domain: DomainDescription, sources: ReadonlyMap<string, StorageSource>, table: ExportTable): DriveSource[] {
  return domain.disks.map((disk) => {
    if (!(table.sources.devices as readonly string[]).includes(disk.device)) return { disk };
    const src = sources.get(disk.dev);
    if (!src) return disk.device === 'cdrom' ? { disk } : { disk, problem: `${describeDisk(disk)}: it has no <source>` };
    const format = disk.device === 'cdrom' ? table.sources.cdromFormat : (disk.driverType ?? table.sources.driverTypeWhenAbsent);
    try {
      return { disk, view: viewOf(src, { table, format, volumePath: (pool, volume) => volumePath(conn, pool, volume) }) };
    } catch (err) {
      if (!(err instanceof SourceProblem)) throw err;
      const where = src.path ?? (src.protocol !== undefined ? `${src.protocol} ${src.name ?? ''}`.trim() : src.volume !== undefined ? `${src.pool}/${src.volume}` : undefined);
      return { disk, problem: `${describeDisk(disk, where)}: ${err.message}` };
    }
  });
}

/** The served drives and what stops their servers. */
export interface ServedDrives {
  readonly drives: ServedDrive[];
  close(): Promise<void>;
}

/**
 * Serves every drive's view (source-server.ts: one qemu-storage-daemon each, holding QEMU's
 * image locks) until close(). Then each drive that cannot be read (its problem, or QEMU's
 * refusal to open it) is refused, or with `lax` reported as a warning: a hard disk is left out,
 * a CD-ROM drive kept without its medium. `verify` runs before that (a domain started meanwhile
 * explains an image in use better than the lock error does).
 * @throws LibvirtSetupError (option `lax`) naming the first disk that cannot be read; the
 *   stat(2) error of a local image that is missing or inaccessible (unless lax); ToolError
 *   when qemu-storage-daemon is missing; whatever `verify` throws; the signal's reason.
 */
export async function serveSources(drives: readonly DriveSource[], opts: { table: ExportTable; lax: boolean; reporter: Reporter; signal: AbortSignal; verify?: () => void; openSecrets?: OpenSecrets }): Promise<ServedDrives> {
  const servers: ServedView[] = [];
  const close = async (): Promise<void> => void (await Promise.all(servers.map((s) => s.close())));
  try {
    const out: (ServedDrive & { problem?: string })[] = [];
    for (const d of drives) {
      if (!d.view) {
        out.push(d.problem ? { disk: d.disk, problem: d.problem } : { disk: d.disk });
        continue;
      }
      // A local image that is not there (or not accessible) is the OS error itself, which the
      // CLI explains with the path and how to fix the domain; lax leaves the disk out.
      const gone = d.view.held ? await stat(d.view.path).then(() => undefined, (err: NodeJS.ErrnoException) => err) : undefined;
      if (gone && !opts.lax) throw gone;
      const served = gone ? `${describeDisk(d.disk, d.view.path)}: cannot open it: ${gone.code === 'ENOENT' ? 'it does not exist' : gone.message}` : await serveView(d.view, opts.signal, opts.openSecrets).catch((err: unknown) => {
        if (err instanceof SourceProblem) return `${describeDisk(d.disk, d.view!.path)}: ${err.message}`;
        throw err;
      });
      if (typeof served === 'string') {
        out.push({ disk: d.disk, problem: served });
        continue;
      }
      servers.push(served);
      out.push({ disk: d.disk, source: hostSource(d.view, served, opts.table) });
    }
    opts.verify?.();
    const kept: ServedDrive[] = [];
    for (const d of out) {
      if (d.problem === undefined) kept.push(d);
      else if (!opts.lax) throw new LibvirtSetupError(`${d.problem}; it cannot be exported as the guest sees it; choose to leave it out`, { option: 'lax' });
      else {
        opts.reporter.emit({ kind: 'warning', message: `${d.problem}; ${d.disk.device === 'cdrom' ? 'the drive is exported without its medium' : 'left out of the OVF'}` });
        if (d.disk.device === 'cdrom') kept.push({ disk: d.disk });
      }
    }
    return { drives: kept, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The served source of `view`. */
function hostSource(view: DiskView, served: ServedView, table: ExportTable): HostSource {
  const filename = viewFilename(view, table);
  const image: ImageSource = { path: view.path, offset: 0, size: 0, wholeFile: true, label: `"${view.path}"`, ...(view.network ? { format: 'raw', filename: served.filename } : { format: view.format, filename }) };
  return { ...view, held: view.held && served.locks, served: { socket: served.socket, filename: served.filename }, image, filename };
}

/** How the package files are named and written: the domain name made safe, and the format of hard disks. */
export interface DrivePlan {
  readonly name: string;
  readonly diskFormat: 'vmdk' | 'qcow2' | 'raw';
}

/**
 * Builds the export record of each drive: for each one with a source, its href (export.json
 * `fileNames`, numbered in the order of the drives carried), format in the package (CD-ROM
 * media stay raw ISO files), virtual size (`qemu-img info`, asked once: of the top image, or
 * of the served bytes of a network disk) and VMDK adapter type.
 * @throws ToolError when qemu-img cannot read a disk.
 */
export async function describeDrives(sources: readonly ServedDrive[], plan: DrivePlan, table: ExportTable, signal: AbortSignal): Promise<ExportDisk[]> {
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
    const top: ImageSource = { ...source.image, format: source.format, filename: viewFilename(source, table, { top: true }) };
    const info = source.stream?.info ?? (await imageInfo(source.network ? source.image : top, { signal }));
    const format = cdrom ? table.sources.cdromFormat : plan.diskFormat;
    const ext = cdrom ? names.extensions.cdrom : names.extensions[format as 'vmdk' | 'qcow2' | 'raw'];
    const href = (cdrom ? names.cdrom : names.disk).replaceAll('{name}', plan.name).replaceAll('{n}', String(n)).replaceAll('{ext}', ext);
    const image: PackageImage = { href, format: format as 'vmdk' | 'qcow2' | 'raw', capacityBytes: info.virtualSizeBytes, source, ...(cdrom ? {} : { info }), adapter: vmdkAdapter(table, disk.bus) };
    out.push({ disk, image });
  }
  return out;
}
