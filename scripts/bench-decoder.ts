// Benchmark of the streaming streamOptimized VMDK decoder (src/storage/vmdk-stream) against
// `qemu-img convert -O raw` of the same VMDK: the per-core inflate rate of this machine, wall time
// of both into a raw file (median of alternating runs, page cache warm), their ratio, peak RSS,
// and the peak RSS of a 16 GiB mostly-sparse disk.
//
//   node dist/scripts/bench-decoder.js [--size GiB] [--sparse-size GiB] [--runs N] [--workers N] [--work-dir DIR] [--keep] [--json]
//   node dist/scripts/bench-decoder.js --decode VMDK OUT [--workers N]   (one decode; prints JSON)

import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { inflateSync } from 'node:zlib';
import { fileChunks } from '../src/storage/file-chunks.js';
import { RawFileSink } from '../src/storage/raw-file-sink.js';
import { openStreamOptimized } from '../src/storage/vmdk-stream/index.js';
import { fmtMiB, log, median, MiB } from './bench/format.js';

const SELF = fileURLToPath(import.meta.url);

/** One decode in this process (the child the benchmark measures): VMDK → raw file OUT. */
async function decodeOnce(vmdk: string, out: string, workers: number): Promise<void> {
  const t0 = performance.now();
  const img = await openStreamOptimized(fileChunks(vmdk), { label: vmdk });
  await writeFile(out, '');
  const sink = await RawFileSink.open(out, { capacityBytes: img.capacityBytes });
  const r = await img.decodeInto(sink, { workers });
  process.stdout.write(`${JSON.stringify({ ms: performance.now() - t0, ...r, maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
}

/**
 * Inflates up to `limitBytes` of guest data from the grains of `vmdk` with zlib.inflateSync on
 * this thread; returns MiB of guest bytes per second of this process's CPU time (one core, so
 * that other load on the machine does not count) and the bytes inflated.
 */
function inflateRate(vmdk: string, limitBytes: number): { mibPerS: number; bytes: number } {
  const file = readFileSync(vmdk);
  const grains: Buffer[] = [];
  let at = Number(file.readBigUInt64LE(64)) * 512; // overHead: the first grain
  let guest = 0;
  while (at + 12 <= file.length && guest < limitBytes) {
    const size = file.readUInt32LE(at + 8);
    if (size === 0) {
      at += 512 + Number(file.readBigUInt64LE(at)) * 512;
      if (file.readUInt32LE(at - 512 + 12) === 0 && file.readBigUInt64LE(at - 512) === 0n) break; // end of stream
      continue;
    }
    grains.push(file.subarray(at + 12, at + 12 + size));
    guest += 64 * 1024;
    at += Math.ceil((12 + size) / 512) * 512;
  }
  const cpu0 = process.cpuUsage();
  let bytes = 0;
  for (const g of grains) bytes += inflateSync(g).length;
  const cpu = process.cpuUsage(cpu0);
  return { mibPerS: bytes / MiB / ((cpu.user + cpu.system) / 1e6), bytes };
}

/** Wall time, CPU time (user + system, all threads) and peak RSS of one command, from GNU time. */
interface Run {
  wallS: number;
  cpuS: number;
  rssBytes: number;
}

/** Runs `cmd args` under /usr/bin/time; throws on failure. */
async function timed(cmd: string, args: string[], dir: string): Promise<Run> {
  const out = join(dir, 'time.txt');
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', '-o', out, cmd, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  const [wall, user, sys, kb] = readFileSync(out, 'utf8').trim().split('\n').pop()!.split(' ').map(Number) as [number, number, number, number];
  return { wallS: wall, cpuS: user + sys, rssBytes: kb * 1024 };
}

/** Measures qemu-img and the decoder on `vmdk`, alternating, `runs` times each after one warm-up run (which also compares their outputs). */
async function compare(vmdk: string, dir: string, runs: number, workers: number): Promise<{ qemu: Run[]; ours: Run[] }> {
  const [q, o] = [join(dir, 'qemu.raw'), join(dir, 'ours.raw')];
  const res = { qemu: [] as Run[], ours: [] as Run[] };
  for (let i = 0; i <= runs; i++) {
    await rm(q, { force: true });
    const mq = await timed('qemu-img', ['convert', '-f', 'vmdk', '-O', 'raw', vmdk, q], dir);
    await rm(o, { force: true });
    const mo = await timed(process.execPath, [SELF, '--decode', vmdk, o, '--workers', String(workers)], dir);
    if (i === 0) {
      execFileSync('qemu-img', ['compare', '-q', '-f', 'raw', '-F', 'raw', q, o]);
      continue;
    }
    res.qemu.push(mq);
    res.ours.push(mo);
    log(`run ${i} (load ${loadavg()[0]!.toFixed(1)}): qemu-img ${mq.wallS.toFixed(2)} s (cpu ${mq.cpuS.toFixed(2)} s), decoder ${mo.wallS.toFixed(2)} s (cpu ${mo.cpuS.toFixed(2)} s, ${fmtMiB(mo.rssBytes)})`);
  }
  return res;
}

const med = (runs: Run[], k: keyof Run): number => median(runs.map((r) => r[k]));

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      decode: { type: 'boolean', default: false },
      size: { type: 'string', default: '2' },
      'sparse-size': { type: 'string', default: '16' },
      runs: { type: 'string', default: '3' },
      workers: { type: 'string', default: String(availableParallelism()) },
      'work-dir': { type: 'string' },
      keep: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const workers = Number(values.workers);
  if (values.decode) {
    await decodeOnce(positionals[0]!, positionals[1]!, workers);
    return 0;
  }
  const dir = await mkdtemp(join(resolve(values['work-dir'] ?? tmpdir()), 'virt-ovf-bench-decoder-'));
  try {
    const sizeBytes = Math.round(Number(values.size) * 1024) * MiB;
    log(`building a ${values.size} GiB mixed-content streamOptimized VMDK (qemu-img) in ${dir}`);
    const { buildAppliance } = await import('./appliance.js');
    const app = await buildAppliance({ dir, name: 'benchdec', content: 'mixed', diskSizeBytes: sizeBytes, manifest: 'none', ova: false });
    await rm(app.rawDisk, { force: true });
    const rate = inflateRate(app.vmdk, 512 * MiB);
    log(`inflate (node:zlib inflateSync, 64 KiB grains): ${rate.mibPerS.toFixed(0)} MiB of guest data per CPU second (${fmtMiB(rate.bytes)} inflated)`);
    const dense = await compare(app.vmdk, dir, Number(values.runs), workers);
    await rm(join(dir, 'qemu.raw'), { force: true });
    await rm(join(dir, 'ours.raw'), { force: true });

    const sparseBytes = Math.round(Number(values['sparse-size']) * 1024) * MiB;
    log(`building a ${values['sparse-size']} GiB mostly-sparse streamOptimized VMDK`);
    const sparseRaw = join(dir, 'sparse.raw');
    const sparseVmdk = join(dir, 'sparse.vmdk');
    await writeFile(sparseRaw, '');
    for (let at = 0; at < sparseBytes; at += 1024 * MiB) execFileSync('dd', ['if=/dev/urandom', `of=${sparseRaw}`, 'bs=1M', 'count=4', `seek=${at / MiB}`, 'conv=notrunc', 'status=none']);
    execFileSync('truncate', ['-s', String(sparseBytes), sparseRaw]);
    execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized', sparseRaw, sparseVmdk]);
    await rm(sparseRaw, { force: true });
    const sparse = await compare(sparseVmdk, dir, 1, workers);

    const figures = {
      cores: availableParallelism(),
      workers,
      loadAverage: loadavg()[0],
      inflateMiBPerCpuS: Math.round(rate.mibPerS),
      denseVmdkBytes: (await stat(app.vmdk)).size,
      denseCapacityBytes: sizeBytes,
      qemuImgS: med(dense.qemu, 'wallS'),
      decoderS: med(dense.ours, 'wallS'),
      speedup: med(dense.qemu, 'wallS') / med(dense.ours, 'wallS'),
      qemuImgCpuS: med(dense.qemu, 'cpuS'),
      decoderCpuS: med(dense.ours, 'cpuS'),
      decoderPeakRssMiB: Math.max(...dense.ours.map((r) => r.rssBytes)) / MiB,
      qemuImgPeakRssMiB: Math.max(...dense.qemu.map((r) => r.rssBytes)) / MiB,
      sparseCapacityBytes: sparseBytes,
      sparseQemuImgS: med(sparse.qemu, 'wallS'),
      sparseDecoderS: med(sparse.ours, 'wallS'),
      sparseDecoderPeakRssMiB: Math.max(...sparse.ours.map((r) => r.rssBytes)) / MiB,
    };
    process.stderr.write(
      [
        '',
        `inflate rate (zlib inflateSync, 64 KiB grains): ${figures.inflateMiBPerCpuS} MiB of guest data per CPU second; ${figures.cores} cores; load average ${figures.loadAverage!.toFixed(1)}`,
        `${values.size} GiB mixed VMDK (${fmtMiB(figures.denseVmdkBytes)}) into raw, median of ${values.runs}:`,
        `  qemu-img convert -O raw       ${figures.qemuImgS.toFixed(2)} s wall, ${figures.qemuImgCpuS.toFixed(2)} s CPU, peak RSS ${figures.qemuImgPeakRssMiB.toFixed(1)} MiB`,
        `  virt-ovf decoder (${workers} workers)  ${figures.decoderS.toFixed(2)} s wall, ${figures.decoderCpuS.toFixed(2)} s CPU, peak RSS ${figures.decoderPeakRssMiB.toFixed(1)} MiB`,
        `  speed-up ${figures.speedup.toFixed(2)}× (target ≥ 1.70×: ${figures.speedup >= 1.7 ? 'ok' : 'MISS'})`,
        `${values['sparse-size']} GiB mostly-sparse VMDK: qemu-img ${figures.sparseQemuImgS.toFixed(2)} s, decoder ${figures.sparseDecoderS.toFixed(2)} s, decoder peak RSS ${figures.sparseDecoderPeakRssMiB.toFixed(1)} MiB`,
        '',
      ].join('\n'),
    );
    if (values.json) process.stdout.write(`${JSON.stringify(figures)}\n`);
    return 0;
  } finally {
    if (values.keep) log(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = await main(process.argv.slice(2));
