// Benchmark: four bench-sized packages imported one after another (`--jobs 1`) against two at a time
// (`--jobs 2`), in the same run, through the real CLI; the figure is the speed-up (issue 10: >= 1.6x).
//
//   node dist/scripts/bench-batch.js [--size GiB] [--packages N] [--jobs N] [--json]

import { execa } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { scratchPool, TEST_URI, uniqueName, type ScratchPool } from '../test/libvirt/harness.js';
import { buildAppliance } from './appliance.js';
import { fmtS, log, MiB } from './bench/format.js';

const VIRT_OVF = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'virt-ovf');

/** Removes the domains a measured batch defined and their volumes (virsh; errors ignored). */
async function undo(pool: ScratchPool, domains: readonly string[]): Promise<void> {
  for (const d of domains) await execa('virsh', ['-c', TEST_URI, 'undefine', d, '--remove-all-storage', '--nvram'], { reject: false });
  await execa('virsh', ['-c', TEST_URI, 'pool-refresh', pool.name], { reject: false });
}

/** Imports `ovas` with `--jobs jobs` into the pool; returns the wall time in ms. @throws when the CLI fails. */
async function timedBatch(ovas: readonly string[], names: readonly string[], pool: ScratchPool, jobs: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  const r = await execa('node', [VIRT_OVF, 'import', ...ovas, '--jobs', String(jobs), '--pool', pool.name, '--virt-type', 'qemu', '-q'], { reject: false, env: { LIBVIRT_DEFAULT_URI: TEST_URI } });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  await undo(pool, names);
  if (r.exitCode !== 0) throw new Error(`virt-ovf import --jobs ${jobs} failed (${r.exitCode}): ${r.stderr}`);
  return ms;
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { size: { type: 'string', default: '2' }, packages: { type: 'string', default: '4' }, jobs: { type: 'string', default: '2' }, json: { type: 'boolean', default: false } } });
  const sizeBytes = Math.round(Number(values.size) * 1024) * MiB;
  const count = Number(values.packages);
  const jobs = Number(values.jobs);
  const work = await mkdtemp(join(tmpdir(), 'virt-ovf-bench-batch-'));
  let pool: ScratchPool | undefined;
  try {
    const names = Array.from({ length: count }, (_, i) => uniqueName(`benchbatch${i}`).replace(/-/g, ''));
    log(`building ${count} mixed-content OVAs of ${values.size} GiB in ${work}`);
    const ovas: string[] = [];
    for (const name of names) {
      const app = await buildAppliance({ dir: join(work, name), name, content: 'mixed', diskSizeBytes: sizeBytes, manifest: 'sha256' });
      await rm(app.rawDisk, { force: true });
      ovas.push(app.ova!);
    }
    pool = await scratchPool();
    // Alternate the order so that neither side always runs on a warmer page cache.
    const serial: number[] = [];
    const parallel: number[] = [];
    for (const order of [0, 1]) {
      for (const j of order === 0 ? [1, jobs] : [jobs, 1]) (j === 1 ? serial : parallel).push(await timedBatch(ovas, names, pool, j));
    }
    const s = Math.min(...serial);
    const p = Math.min(...parallel);
    const figures = { packages: count, sizeGiB: Number(values.size), jobs, serialMs: s, parallelMs: p, speedup: s / p };
    log(`--jobs 1: ${fmtS(s)}   --jobs ${jobs}: ${fmtS(p)}   speed-up ${(s / p).toFixed(2)}x (issue 10 target: >= 1.6x)`);
    if (values.json) process.stdout.write(`${JSON.stringify(figures)}\n`);
    return 0;
  } finally {
    await pool?.cleanup();
    await rm(work, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = await main(process.argv.slice(2));
