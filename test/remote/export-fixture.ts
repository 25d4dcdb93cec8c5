// What the remote export tests put on the remote host: a volume holding a guest disk (qcow2
// through the sequential encoder, or raw through virsh's sparse upload) and a stopped domain on it.
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Connection, lookupPool } from '../../src/libvirt/index.js';
import { Qcow2StreamSink } from '../../src/storage/qcow2-stream/index.js';
import { volumeUploader } from '../../src/transfer/volume-uploader.js';
import type { RemoteHost } from '../harness/remote-libvirtd.js';

/** Writes the guest bytes of local raw file `raw` into a new qcow2 volume `name` of the remote pool through Qcow2StreamSink; returns what the encoder sent. */
export async function uploadQcow2(conn: Connection, poolName: string, name: string, raw: string): Promise<{ bytesUploaded: number; fileBytes: number }> {
  const fh = await open(raw, 'r');
  const pool = lookupPool(conn, poolName)!;
  try {
    const size = (await fh.stat()).size;
    const vol = await pool.createVolume(`<volume><name>${name}</name><capacity unit='bytes'>${size}</capacity><target><format type='qcow2'/></target></volume>`);
    try {
      const sink = new Qcow2StreamSink({ capacityBytes: size, uploader: volumeUploader(conn, vol), label: name });
      const buf = Buffer.alloc(2 ** 20);
      for (let at = 0; at < size; ) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - at), at);
        await sink.write(at, buf.subarray(0, bytesRead));
        at += bytesRead;
      }
      await sink.finish();
      return sink.result!;
    } finally {
      vol.free();
    }
  } finally {
    pool.free();
    await fh.close();
  }
}

/** Defines a stopped TCG domain `name` on the remote host whose SATA disk is volume `volume` (format `format`) of pool `pool`, with a serial console. */
export async function defineRemoteDomain(host: RemoteHost, name: string, pool: string, volume: string, format: 'qcow2' | 'raw'): Promise<void> {
  const xml = [
    `<domain type='qemu'><name>${name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>`,
    `<os><type arch='x86_64'>hvm</type><boot dev='hd'/></os>`,
    `<devices><disk type='volume' device='disk'><driver name='qemu' type='${format}'/><source pool='${pool}' volume='${volume}'/><target dev='sda' bus='sata'/></disk>`,
    `<serial type='pty'/><memballoon model='none'/></devices></domain>`,
  ].join('');
  const file = join(host.dir, `${name}.xml`);
  await writeFile(file, xml);
  const r = await host.virsh('define', file);
  if (r.code !== 0) throw new Error(`cannot define ${name} on the remote host: ${r.stderr}`);
}
