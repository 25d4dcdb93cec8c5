// Benchmark of the URL and stdin sources: `virt-ovf import` of the mixed-content OVA from a loopback
// HTTP server with and without range support, and piped into standard input (`cat x.ova | virt-ovf
// import -`), side by side with the same import from the local file (issue 11: within 1.10×).
//
//   node dist/scripts/bench-sources.js [--size GiB] [--runs N] [--json] [--work-dir DIR]
//
// Each run imports the OVA four ways, in rotating order: local path, http:// with ranges, http://
// without ranges (one pass), a pipe on standard input (one pass). Reported: median wall time, ratio to the local import, peak RSS, and the
// bytes the server sent over the OVA's size (1.00 = each byte read once).
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startHttpServer, type TestServer } from '../test/harness/http-server.js';
import { scratchPool, TEST_URI, uniqueName, type ScratchPool } from '../test/libvirt/harness.js';
import { buildAppliance } from './appliance.js';
import { prepareCache } from './bench/cache.js';
import { fmtMiB, fmtS, log, median, MiB } from './bench/format.js';
import { measure } from './bench/measure.js';
import { cleanupImport, type Bench } from './bench/runs.js';

const VIRT_OVF = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'virt-ovf');
const USAGE = 'usage: node dist/scripts/bench-sources.js [--size GiB] [--runs N] [--json] [--work-dir DIR]\n';

/** One way of naming the package, and the server that serves it (none for the local file), or the file `cat` pipes into stdin. */
interface Way {
  readonly label: string;
  readonly source: string;
  readonly server?: TestServer;
  readonly pipe?: string;
}

/** Figures of one way over the runs. */
interface WayFigures {
  label: string;
  wallMs: number[];
  peakRssBytes: number[];
  servedBytes: number[];
}

/** Imports `way.source` once into the pool with the real CLI; returns wall time, peak RSS and the bytes served. */
async function importOnce(way: Way, pool: ScratchPool, workDir: string, ova: string): Promise<{ wallMs: number; peakRssBytes: number; servedBytes: number }> {
  const domain = uniqueName('bench-sources');
  await prepareCache([ova]);
  const before = way.server?.bytesServed ?? 0;
  const argv = [VIRT_OVF, 'import', way.source, '--connect', TEST_URI, '--pool', pool.name, '--name', domain, '--virt-type', 'qemu', '--json'];
  // `cat FILE | node virt-ovf import - …`: sh runs the pipeline, GNU time's peak RSS is the largest of its children.
  const m = way.pipe ? await measure('sh', ['-c', 'f=$1; shift; cat "$f" | "$@"', 'sh', way.pipe, process.execPath, ...argv], pool.path, workDir) : await measure(process.execPath, argv, pool.path, workDir);
  const served = (way.server?.bytesServed ?? 0) - before;
  await cleanupImport({ pool } as Bench, domain, undefined);
  if (m.exitCode !== 0) throw new Error(`virt-ovf import ${way.source} exited with ${m.exitCode}: ${m.stderr.trim().split('\n').pop() ?? ''}`);
  return { wallMs: m.wallMs, peakRssBytes: m.peakRssBytes ?? 0, servedBytes: served };
}

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { size: { type: 'string', default: '2' }, runs: { type: 'string', default: '3' }, json: { type: 'boolean', default: false }, 'work-dir': { type: 'string' } }, strict: true }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const sizeGiB = Number(values.size);
  const runs = Number(values.runs);
  if (!(sizeGiB > 0) || !Number.isInteger(runs) || runs < 1) {
    process.stderr.write(USAGE);
    return 2;
  }
  const workDir = await mkdtemp(join(resolve(values['work-dir'] ?? tmpdir()), 'virt-ovf-bench-sources-'));
  const servers: TestServer[] = [];
  let pool: ScratchPool | undefined;
  try {
    log(`building a ${sizeGiB} GiB mixed-content OVA in ${workDir}`);
    const app = await buildAppliance({ dir: workDir, name: 'benchvm', content: 'mixed', diskSizeBytes: Math.round(sizeGiB * 1024) * MiB, manifest: 'sha256' });
    await rm(app.rawDisk, { force: true });
    const ova = app.ova!;
    const ovaBytes = (await stat(ova)).size;
    const ranged = await startHttpServer({ root: workDir });
    const whole = await startHttpServer({ root: workDir, ranges: false });
    servers.push(ranged, whole);
    pool = await scratchPool();
    const ways: Way[] = [
      { label: 'local file', source: ova },
      { label: 'http, ranges', source: ranged.url('benchvm.ova'), server: ranged },
      { label: 'http, no ranges (one pass)', source: whole.url('benchvm.ova'), server: whole },
      { label: 'stdin pipe (one pass)', source: '-', pipe: ova },
    ];
    const figures: WayFigures[] = ways.map((w) => ({ label: w.label, wallMs: [], peakRssBytes: [], servedBytes: [] }));
    for (let i = 0; i < runs; i++) {
      for (let k = 0; k < ways.length; k++) {
        const j = (i + k) % ways.length;
        const r = await importOnce(ways[j]!, pool, workDir, ova);
        figures[j]!.wallMs.push(r.wallMs);
        figures[j]!.peakRssBytes.push(r.peakRssBytes);
        figures[j]!.servedBytes.push(r.servedBytes);
        log(`run ${i + 1}: ${ways[j]!.label} ${fmtS(r.wallMs)}, peak RSS ${fmtMiB(r.peakRssBytes)}${ways[j]!.server ? `, served ${(r.servedBytes / ovaBytes).toFixed(3)} × the OVA` : ''}`);
      }
    }
    const local = median(figures[0]!.wallMs);
    const rows = figures.map((f, j) => ({
      way: f.label,
      medianWallMs: median(f.wallMs),
      ratioToLocal: median(f.wallMs) / local,
      peakRssMiB: Math.max(...f.peakRssBytes) / MiB,
      ...(ways[j]!.server ? { servedOverOva: median(f.servedBytes) / ovaBytes } : {}),
    }));
    process.stdout.write(`\nImport of a ${sizeGiB} GiB mixed-content OVA (${fmtMiB(ovaBytes)}), median of ${runs} run(s); target: URL and stdin within 1.10x of the local file\n`);
    for (const r of rows) {
      process.stdout.write(`  ${r.way.padEnd(28)} ${fmtS(r.medianWallMs).padStart(9)}  ${r.ratioToLocal.toFixed(2)}x local  peak RSS ${r.peakRssMiB.toFixed(0)} MiB${r.servedOverOva !== undefined ? `  served ${r.servedOverOva.toFixed(3)}x the OVA` : ''}\n`);
    }
    if (values.json) process.stdout.write(JSON.stringify({ sizeGiB, ovaBytes, runs, rows }, null, 2) + '\n');
    return 0;
  } catch (err) {
    process.stderr.write(`bench-sources failed: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  } finally {
    for (const s of servers) await s.close();
    await pool?.cleanup();
    await rm(workDir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
