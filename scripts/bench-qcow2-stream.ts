// Benchmark of the sequential qcow2 encoder (src/storage/qcow2-stream) on a mixed-content raw
// disk, side by side with `qemu-img convert -O qcow2` in the same run: time, encode rate, file
// size and allocation; then the same encoder uploading into a qcow2 volume of the system
// libvirtd (virStorageVolUpload, src/transfer/volume-uploader.ts): bytes sent through the
// stream against the volume's allocation.
//
//   node dist/scripts/bench-qcow2-stream.js [--size GiB=1] [--keep] [--work-dir DIR]

import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Connection, createPool, lookupPool } from '../src/libvirt/index.js';
import { fileUploader, Qcow2StreamSink, type VolumeUploader } from '../src/storage/qcow2-stream/index.js';
import { volumeUploader } from '../src/transfer/volume-uploader.js';
import { bootSector } from './appliance/boot-sector.js';
import { writeRawDisk } from './appliance/disk.js';
import { fmtMiB, fmtS, log, MiB } from './bench/format.js';

const GiB = 2 ** 30;

/** Feeds the raw file into a Qcow2StreamSink over `uploader` in 4 MiB reads (holes of the file are read as zeros, as a decoder would send them). */
async function encode(raw: string, uploader: VolumeUploader): Promise<{ ms: number; bytesUploaded: number; fileBytes: number }> {
  const fh = await open(raw, 'r');
  try {
    const size = (await fh.stat()).size;
    const sink = new Qcow2StreamSink({ capacityBytes: size, uploader, label: 'bench' });
    const buf = Buffer.alloc(4 * MiB);
    const t0 = performance.now();
    for (let at = 0; at < size; ) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - at), at);
      await sink.write(at, buf.subarray(0, bytesRead));
      at += bytesRead;
    }
    await sink.finish();
    return { ms: performance.now() - t0, bytesUploaded: sink.result!.bytesUploaded, fileBytes: sink.result!.fileBytes };
  } finally {
    await fh.close();
  }
}

/** Blocks allocated to a file, in bytes (what `qemu-img info` calls disk size). */
const allocated = async (path: string): Promise<number> => (await stat(path)).blocks * 512;
const compare = (a: string, b: string): string => execFileSync('qemu-img', ['compare', '-f', 'raw', '-F', 'qcow2', a, b]).toString().trim();

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { size: { type: 'string', default: '1' }, keep: { type: 'boolean', default: false }, 'work-dir': { type: 'string' } } });
  const sizeBytes = Math.round(Number(values.size) * GiB);
  const work = await mkdtemp(join(values['work-dir'] ?? tmpdir(), 'virt-ovf-bench-qcow2-'));
  await chmod(work, 0o755);
  const conn = Connection.open('qemu:///system');
  const poolName = `virt-ovf-bench-qcow2-${process.pid}`;
  try {
    const raw = join(work, 'disk.raw');
    await writeRawDisk(raw, bootSector('BENCH'), sizeBytes, 'mixed');
    log(`source: ${fmtMiB(sizeBytes)} raw, ${fmtMiB(await allocated(raw))} allocated`);

    const ours = join(work, 'ours.qcow2');
    const fh = await open(ours, 'wx');
    const local = await encode(raw, fileUploader(fh)).finally(() => fh.close());
    const t0 = performance.now();
    execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, join(work, 'qemu.qcow2')]);
    const qemuMs = performance.now() - t0;
    log(`encoder to a file:  ${fmtS(local.ms)} (${((sizeBytes / MiB / local.ms) * 1000).toFixed(0)} MiB/s of guest bytes), file ${fmtMiB(local.fileBytes)}, allocated ${fmtMiB(await allocated(ours))}; ${compare(raw, ours)}`);
    log(`qemu-img convert:   ${fmtS(qemuMs)}, file ${fmtMiB((await stat(join(work, 'qemu.qcow2'))).size)}, allocated ${fmtMiB(await allocated(join(work, 'qemu.qcow2')))}; ratio ours/qemu-img ${(local.ms / qemuMs).toFixed(2)}x`);

    const poolDir = join(work, 'pool');
    execFileSync('mkdir', ['-m', '755', poolDir]);
    (await createPool(conn, `<pool type='dir'><name>${poolName}</name><target><path>${poolDir}</path></target></pool>`)).free();
    const pool = lookupPool(conn, poolName)!;
    const vol = await pool.createVolume(`<volume><name>up.qcow2</name><capacity unit='bytes'>${sizeBytes}</capacity><target><format type='qcow2'/></target></volume>`);
    const up = await encode(raw, volumeUploader(conn, vol));
    const allocation = Number(/<allocation unit='bytes'>(\d+)</.exec(await vol.xml())?.[1]);
    log(`encoder to a volume (virStorageVolUpload, qemu:///system): ${fmtS(up.ms)} (${((sizeBytes / MiB / up.ms) * 1000).toFixed(0)} MiB/s), sent ${fmtMiB(up.bytesUploaded)}, volume allocation ${fmtMiB(allocation)}: sent/allocation ${(up.bytesUploaded / allocation).toFixed(3)}; ${compare(raw, vol.path())}`);
    await vol.delete();
    vol.free();
    await pool.destroy();
    pool.free();
  } finally {
    const left = lookupPool(conn, poolName);
    await left?.destroy().catch(() => undefined);
    left?.free();
    conn.close();
    if (!values.keep) await rm(work, { recursive: true, force: true });
  }
}

await main();
