// The guest bytes of a volume on the host of a libvirt connection, read through
// virStorageVolDownload: a qcow2 volume through ranged downloads (its tables, then its data
// clusters in guest order), a raw one through one sparse download (holes arrive as holes).
// Both give what the local readers give: the guest map and a GuestReader over it.
import type { Connection, StorageVolume, StreamRange } from '../libvirt/index.js';
import { VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM } from '../libvirt/index.js';
import type { ImageInfo } from '../storage/qemu-img.js';
import type { MapExtent } from '../storage/qemu-img-map.js';
import { parseQcow2Header, qcow2Extents, QCOW2_HEADER_READ, type Qcow2Geometry } from '../storage/qcow2-stream/reader.js';
import type { GuestReader } from './vmdk/guest-reader.js';
import { downloadRange, RECV_BYTES } from '../transfer/download-range.js';

/** One pass over a disk's guest bytes: the map in guest order, and the reader of its data extents. */
export interface GuestPass {
  readonly extents: AsyncIterable<MapExtent>;
  readonly reader: GuestReader;
}

/** A disk read through libvirt streams: a raw or qcow2 volume on the host of the connection. */
export interface StreamedDisk {
  /** Where the bytes are, for messages: the volume's path on that host. */
  readonly path: string;
  readonly format: 'raw' | 'qcow2';
  /** Virtual size, in bytes. */
  readonly sizeBytes: number;
  /** What describeDrives would ask qemu-img: format and virtual size. */
  readonly info: ImageInfo;
  /** Starts one pass over the guest bytes, in guest order. @throws LibvirtError. */
  pass(): Promise<GuestPass>;
}

/** The geometry of a qcow2 volume (its header, one ranged download). @throws Qcow2Unsupported; LibvirtError. */
export async function qcow2Geometry(conn: Connection, volume: StorageVolume): Promise<Qcow2Geometry> {
  return parseQcow2Header(await downloadRange(conn, volume, 0, QCOW2_HEADER_READ));
}

/** Largest read-ahead of a run of sequential reads, in bytes. */
const MAX_WINDOW_BYTES = 8 * 2 ** 20;

/**
 * Reads of a volume's file through ranged downloads with a read-ahead: a read that starts where
 * the previous one ended doubles the window (up to 8 MiB) and is served from the last download
 * when it lies inside it; any other read downloads just what it asks. An image whose clusters
 * lie in guest order (what qemu-img convert and the sequential encoder write) then costs one
 * download per 8 MiB instead of one per read; a fragmented one wastes at most one window per
 * break in the sequence. Reads are serialised (one connection carries them anyway).
 */
function windowedReader(conn: Connection, volume: StorageVolume): (offset: number, length: number) => Promise<Buffer> {
  let cached: { start: number; data: Buffer } | undefined;
  let lastEnd = -1;
  let window = 0;
  let chain: Promise<unknown> = Promise.resolve();
  const read = async (offset: number, length: number): Promise<Buffer> => {
    window = offset === lastEnd ? Math.min(MAX_WINDOW_BYTES, Math.max(window * 2, length)) : 0;
    lastEnd = offset + length;
    const inside = cached && offset >= cached.start && offset + length <= cached.start + cached.data.length;
    if (!inside) cached = { start: offset, data: await downloadRange(conn, volume, offset, Math.max(length, window)) };
    const at = offset - cached!.start;
    return cached!.data.subarray(at, Math.min(at + length, cached!.data.length));
  };
  return (offset, length) => {
    const next = chain.then(() => read(offset, length));
    chain = next.catch(() => undefined);
    return next;
  };
}

/**
 * A pass over a qcow2 volume: the map from its L1/L2 tables (qcow2Extents, one ranged
 * download per table), and data read per run of clusters stored back to back through a
 * read-ahead window (windowedReader).
 */
export function qcow2Pass(conn: Connection, volume: StorageVolume, g: Qcow2Geometry): GuestPass {
  const readData = windowedReader(conn, volume);
  return {
    extents: qcow2Extents(g, (offset, length) => downloadRange(conn, volume, offset, length)),
    reader: {
      sizeBytes: g.virtualSizeBytes,
      method: 'libvirt stream (qcow2 clusters)',
      async readSegments(base, target, length, segments) {
        target.fill(0, 0, length);
        const runs: { at: number; host: number; length: number }[] = [];
        for (const s of segments) {
          if (s.hostOffset === undefined) continue; // a zero extent: nothing stored
          const last = runs.at(-1);
          if (last && last.at + last.length === s.start - base && last.host + last.length === s.hostOffset) last.length += s.length;
          else runs.push({ at: s.start - base, host: s.hostOffset, length: s.length });
        }
        for (const r of runs) target.set(await readData(r.host, r.length), r.at);
      },
      close: async () => undefined,
    },
  };
}

/**
 * A pass over a raw volume through one sparse download (virStorageVolDownload with
 * VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM): each hole is a zero extent and each piece of data a
 * data extent, yielded once its bytes arrived; the reader copies them out of the pieces held,
 * which it drops once read. The reader must read in guest order, as the VMDK writer and
 * copyGuest do; memory is the pieces between the map and the reads (a few MiB).
 * @throws LibvirtError (from the map) when libvirt fails.
 */
export async function rawPass(conn: Connection, volume: StorageVolume, sizeBytes: number): Promise<GuestPass> {
  const stream = conn.newStream();
  try {
    await volume.download(stream, 0, 0, VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM);
  } catch (err) {
    stream.free();
    throw err;
  }
  const held: StreamRange[] = [];
  let freed = false;
  const free = (): void => {
    if (!freed) stream.free();
    freed = true;
  };
  async function* extents(): AsyncGenerator<MapExtent> {
    try {
      for await (const r of stream.readSparse(RECV_BYTES)) {
        if (r.kind === 'hole') yield { start: r.offset, length: r.length, data: false, zero: true, depth: 0 };
        else {
          held.push(r);
          yield { start: r.offset, length: r.data.length, data: true, zero: false, depth: 0, offset: r.offset };
        }
      }
    } finally {
      free();
    }
  }
  return {
    extents: extents(),
    reader: {
      sizeBytes,
      method: 'libvirt stream (sparse)',
      async readSegments(base, target, length, segments) {
        target.fill(0, 0, length);
        for (const s of segments) {
          const end = s.start + s.length;
          for (const h of held) {
            if (h.kind !== 'data') continue;
            const from = Math.max(s.start, h.offset);
            const to = Math.min(end, h.offset + h.data.length);
            if (from < to) target.set(h.data.subarray(from - h.offset, to - h.offset), from - base);
          }
          while (held.length > 0 && held[0]!.offset + (held[0] as { data: Buffer }).data.length <= end) held.shift();
        }
      },
      close: async () => free(),
    },
  };
}
