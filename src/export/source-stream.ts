// Export from a host whose storage is not visible here: each disk is a volume of a pool on the
// host of the connection, found by pool and name or by path (virStorageVolLookupByPath) and read
// through libvirt streams (stream-guest.ts) instead of a local qemu-storage-daemon.
import type { DomainDescription, DomainDisk } from '../domain/model.js';
import { LibvirtSetupError } from '../errors.js';
import { lookupPool, lookupVolumeByPath, type Connection, type StorageVolume } from '../libvirt/index.js';
import type { ExportTable } from '../mapping/schema/export.js';
import type { Reporter } from '../report.js';
import { Qcow2Unsupported } from '../storage/qcow2-stream/reader.js';
import type { HostSource, ServedDrive, ServedDrives } from './disks.js';
import type { StorageSource } from './source-xml.js';
import { qcow2Geometry, qcow2Pass, rawPass, type StreamedDisk } from './stream-guest.js';
import type { ExportTransfer } from './types.js';

/**
 * Whether the disks of connection `uri` are read through libvirt streams: `stream`, or `auto`
 * with a URI naming a host (qemu+tcp://kvm01/system, qemu+ssh://root@kvm01/system): that host's
 * paths are not this machine's, even when it is this machine in other namespaces.
 */
export function readsThroughStreams(uri: string, transfer: ExportTransfer): boolean {
  if (transfer !== 'auto') return transfer === 'stream';
  try {
    return new URL(uri).hostname !== '';
  } catch {
    return false;
  }
}

/** What names a disk in messages. */
const named = (disk: DomainDisk, where?: string): string => `${disk.device} ${disk.dev}${where ? ` (${where})` : ''}`;

/** Why a source cannot be read through streams. */
class StreamProblem extends Error {}

/** The volume behind a disk's storage source. @throws StreamProblem when there is none. */
function volumeOf(conn: Connection, src: StorageSource): StorageVolume {
  if (src.auth || src.encrypted) throw new StreamProblem('it needs a libvirt secret, which export does not read');
  if (src.slice) throw new StreamProblem('it is a <slice> of its source, which export reads only from local storage');
  if (src.type === 'volume' && src.pool && src.volume) {
    const pool = lookupPool(conn, src.pool);
    const vol = pool?.lookupVolume(src.volume) ?? null;
    pool?.free();
    if (!vol) throw new StreamProblem(`volume "${src.volume}" not found in pool "${src.pool}"`);
    return vol;
  }
  if ((src.type === 'file' || src.type === 'block') && src.path) {
    const vol = lookupVolumeByPath(conn, src.path);
    if (!vol) throw new StreamProblem('no storage pool of the connection holds it, so libvirt cannot stream it (define a pool over its directory)');
    return vol;
  }
  throw new StreamProblem(`a <disk type='${src.type}'> source cannot be read through libvirt streams (volumes, and files or block devices of a pool, can)`);
}

/** The streamed disk of `vol` in `format`; the volume is freed by `free`. @throws StreamProblem for an image the stream readers refuse. */
async function streamedDisk(conn: Connection, vol: StorageVolume, format: string): Promise<StreamedDisk> {
  const path = vol.path();
  if (format === 'qcow2') {
    const g = await qcow2Geometry(conn, vol).catch((err: unknown) => Promise.reject(err instanceof Qcow2Unsupported ? new StreamProblem(err.message) : err));
    return { path, format, sizeBytes: g.virtualSizeBytes, info: { format, virtualSizeBytes: g.virtualSizeBytes, raw: {} }, pass: async () => qcow2Pass(conn, vol, g) };
  }
  if (format !== 'raw') throw new StreamProblem(`driver type "${format}" cannot be read through libvirt streams (raw and qcow2 can)`);
  const capacity = /<capacity unit='bytes'>(\d+)<\/capacity>/.exec(await vol.xml())?.[1];
  if (capacity === undefined) throw new StreamProblem('libvirt gives no capacity for the volume');
  const sizeBytes = Number(capacity);
  return { path, format, sizeBytes, info: { format, virtualSizeBytes: sizeBytes, raw: {} }, pass: () => rawPass(conn, vol, sizeBytes) };
}

/**
 * The drives of `domain` with their disks read through libvirt streams (the counterpart of
 * disks.ts resolveSources + serveSources for a host whose storage is not visible here):
 * devices other than export.json `sources.devices`, `skip` (the OVF-environment CD-ROM) and
 * CD-ROM drives without a medium are carried without a source. A disk that cannot be streamed
 * (not a pool volume, a format other than raw or qcow2, a qcow2 image with a backing file,
 * compression, encryption or an external data file) is refused, or with `lax` left out with a
 * warning (a CD-ROM drive kept without its medium). close() frees the volumes.
 * @throws LibvirtSetupError (option `lax`) naming the first disk that cannot be read; LibvirtError.
 */
export async function streamSources(conn: Connection, domain: DomainDescription, sources: ReadonlyMap<string, StorageSource>, opts: { table: ExportTable; lax: boolean; reporter: Reporter; skip?: DomainDisk }): Promise<ServedDrives> {
  const volumes: StorageVolume[] = [];
  const close = async (): Promise<void> => volumes.splice(0).forEach((v) => v.free());
  const drives: ServedDrive[] = [];
  try {
    for (const disk of domain.disks) {
      const src = sources.get(disk.dev);
      if (!(opts.table.sources.devices as readonly string[]).includes(disk.device) || disk === opts.skip || (!src && disk.device === 'cdrom')) {
        drives.push({ disk });
        continue;
      }
      const format = disk.device === 'cdrom' ? opts.table.sources.cdromFormat : (disk.driverType ?? opts.table.sources.driverTypeWhenAbsent);
      const where = src?.path ?? (src?.volume !== undefined ? `${src.pool}/${src.volume}` : undefined);
      try {
        if (!src) throw new StreamProblem('it has no <source>');
        const vol = volumeOf(conn, src);
        volumes.push(vol);
        const stream = await streamedDisk(conn, vol, format);
        opts.reporter.emit({ kind: 'stage', message: `Reading ${named(disk, stream.path)} on ${conn.uri()} through libvirt streams (${stream.format}, ${stream.format === 'qcow2' ? 'ranged downloads' : 'sparse download'})` });
        const source: HostSource = { path: stream.path, format: stream.format, node: {}, local: false, held: false, network: false, secrets: [], served: { socket: '', filename: '' }, image: { path: stream.path, offset: 0, size: 0, format: stream.format, label: `"${stream.path}"` }, filename: '', stream };
        drives.push({ disk, source });
      } catch (err) {
        if (!(err instanceof StreamProblem)) throw err;
        const problem = `${named(disk, where)}: ${err.message}`;
        if (!opts.lax) throw new LibvirtSetupError(`${problem}; it cannot be exported from ${conn.uri()}; choose to leave it out`, { option: 'lax' });
        opts.reporter.emit({ kind: 'warning', message: `${problem}; ${disk.device === 'cdrom' ? 'the drive is exported without its medium' : 'left out of the OVF'}` });
        if (disk.device === 'cdrom') drives.push({ disk });
      }
    }
    return { drives, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The refusal of a running domain on a host whose storage is not visible here. */
export function runningRemoteDomain(name: string, uri: string): LibvirtSetupError {
  return new LibvirtSetupError(
    `domain "${name}" is running on ${uri}: export copies a running domain's disks with a backup job that writes files on the domain's host, which this machine cannot read; shut it down (virsh -c ${uri} shutdown ${name}) and export it again`,
  );
}
