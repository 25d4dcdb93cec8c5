// Benchmark: StreamSink throughput per virStreamSend chunk size, over qemu+tcp and qemu+ssh to the
// namespace libvirtd of test/harness/remote-libvirtd.ts (dense data into a raw volume).
// Run: npm run build && node dist/scripts/bench-stream-chunk.js [--mib 512] [--repeat 2]
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Connection, lookupPool } from '../src/libvirt/index.js';
import { openStreamSink } from '../src/transfer/stream-sink.js';
import { startRemoteHost } from '../test/harness/remote-libvirtd.js';

const MiB = 2 ** 20;
const CHUNKS = (process.env["CHUNKS"] ?? `${64 * 1024},${128 * 1024},262120,${256 * 1024},${512 * 1024},${MiB},${2 * MiB},${4 * MiB},${8 * MiB}`).split(",").map(Number);

/** Seconds to upload `totalBytes` dense bytes in writes of 1 MiB through a sink with `chunkBytes`. */
async function uploadOnce(uri: string, poolName: string, totalBytes: number, chunkBytes: number, pattern: Buffer): Promise<{ seconds: number; calls: number }> {
  const conn = Connection.open(uri);
  try {
    const pool = lookupPool(conn, poolName)!;
    const name = `chunk-${chunkBytes}-${Date.now()}.img`;
    const vol = await pool.createVolume(`<volume><name>${name}</name><allocation>0</allocation><capacity unit='bytes'>${totalBytes}</capacity><target><format type='raw'/></target></volume>`);
    try {
      const start = process.hrtime.bigint();
      const sink = await openStreamSink({ conn, volume: vol, capacityBytes: totalBytes, label: name, chunkBytes });
      for (let offset = 0; offset < totalBytes; offset += pattern.length) await sink.write(offset, pattern.subarray(0, Math.min(pattern.length, totalBytes - offset)));
      await sink.finish();
      return { seconds: Number(process.hrtime.bigint() - start) / 1e9, calls: sink.streamCalls };
    } finally {
      await vol.delete().catch(() => undefined);
      vol.free();
    }
  } finally {
    conn.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { mib: { type: 'string', default: '512' }, repeat: { type: 'string', default: '2' } } });
  const totalBytes = Number(values.mib) * MiB;
  const repeat = Number(values.repeat);
  const host = await startRemoteHost({ ssh: true });
  if (typeof host === 'string') {
    console.log(`skipped: ${host}`);
    return;
  }
  try {
    const pattern = randomBytes(MiB);
    console.log(`dense upload of ${values.mib} MiB, writes of 1 MiB, best of ${repeat}`);
    console.log('chunk      | tcp s  | tcp MiB/s | ssh s  | ssh MiB/s | calls');
    for (const chunk of CHUNKS) {
      const best = { tcp: Infinity, ssh: Infinity, calls: 0 };
      for (let i = 0; i < repeat; i++) {
        const tcp = await uploadOnce(host.tcpUri, host.pools.images.name, totalBytes, chunk, pattern);
        const ssh = await uploadOnce(host.sshUri!, host.pools.images.name, totalBytes, chunk, pattern);
        best.tcp = Math.min(best.tcp, tcp.seconds);
        best.ssh = Math.min(best.ssh, ssh.seconds);
        best.calls = tcp.calls;
      }
      const rate = (s: number) => (totalBytes / MiB / s).toFixed(0).padStart(9);
      console.log(`${(chunk / 1024).toFixed(1).padStart(8)} KiB | ${best.tcp.toFixed(2).padStart(6)} | ${rate(best.tcp)} | ${best.ssh.toFixed(2).padStart(6)} | ${rate(best.ssh)} | ${best.calls}`);
    }
  } finally {
    await host.stop();
  }
}

await main();
