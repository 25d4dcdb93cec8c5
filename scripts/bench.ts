// Benchmark: `virt-ovf import` of a mixed-content OVA (manifest verified) into a qcow2 and a raw
// volume against plain `qemu-img convert` of the same VMDK alone into the same format (wall time
// and the speed-up, peak RSS, temporary bytes in the watched temporary directory, extra disk).
//
//   npm run bench -- [--size GiB] [--runs N] [--keep] [--json] [--work-dir DIR]
//
// This file is the driver (options, the alternating runs, cleanup); the pieces are in scripts/bench/:
// measure.ts (one command), runs.ts (the commands), cache.ts, probe.ts, report.ts, format.ts, inflate-rate.ts.

import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { openArchive } from '../src/archive/archive.js';
import { sourceFilename } from '../src/storage/qemu-img.js';
import { scratchPool, TEST_URI, type ScratchPool } from '../test/libvirt/harness.js';
import { buildAppliance } from './appliance.js';
import { cacheModeUsed } from './bench/cache.js';
import { fmtBytes, fmtMiB, fmtS, log, MiB } from './bench/format.js';
import { runSync } from './bench/probe.js';
import { inflateRate } from './bench/inflate-rate.js';
import { printTable, summarize, type FormatRuns } from './bench/report.js';
import { baseline, cleanupImport, importOnce, type BaselineRun, type Bench, type ImportRun } from './bench/runs.js';

const USAGE = `usage: npm run bench -- [--size GiB] [--runs N] [--keep] [--json] [--work-dir DIR]

  --size GiB       virtual disk size in GiB, fractional allowed (default 2)
  --runs N         measured repetitions of each command (default 3; the median is reported)
  --keep           keep the work directory (OVA, VMDK, raw disk) afterwards
  --json           also print the figures as JSON on stdout
  --work-dir DIR   parent of the work directory (default $TMPDIR)
`;

const APPLIANCE = 'benchvm';

/** The command line, parsed. */
export interface Options {
  sizeGiB: number;
  runs: number;
  keep: boolean;
  json: boolean;
  workParent: string;
}

function parseOptions(argv: string[]): Options | number {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        size: { type: 'string', default: '2' },
        runs: { type: 'string', default: '3' },
        keep: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        'work-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const sizeGiB = Number(values.size);
  const runs = Number(values.runs);
  if (!Number.isFinite(sizeGiB) || sizeGiB <= 0 || Math.round(sizeGiB * 1024) < 1) {
    process.stderr.write(`--size must be a positive number of GiB (at least 1 MiB), got ${values.size}\n${USAGE}`);
    return 2;
  }
  if (!Number.isInteger(runs) || runs < 1) {
    process.stderr.write(`--runs must be a positive integer, got ${values.runs}\n${USAGE}`);
    return 2;
  }
  return { sizeGiB, runs, keep: values.keep, json: values.json, workParent: resolve(values['work-dir'] ?? tmpdir()) };
}

export async function main(argv: string[]): Promise<number> {
  const parsed = parseOptions(argv);
  if (typeof parsed === 'number') return parsed;
  const opts = parsed;
  const diskSizeBytes = Math.round(opts.sizeGiB * 1024) * MiB;

  const workDir = await mkdtemp(join(opts.workParent, 'virt-ovf-bench-'));
  let pool: ScratchPool | undefined;
  const live: Array<{ domain: string; volume?: string }> = [];
  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (cleaning ??= (async () => {
      if (pool) {
        for (const d of live) await cleanupImport({ pool } as Bench, d.domain, d.volume);
        await pool.cleanup();
        // The harness ignores errors (e.g. its connection died when libvirtd restarted); make sure with virsh.
        if (spawnSync('virsh', ['-c', TEST_URI, '-q', 'pool-info', pool.name], { stdio: 'ignore' }).status === 0) {
          log(`pool ${pool.name} survived the harness cleanup; destroying it with virsh`);
          runSync('virsh', ['-c', TEST_URI, '-q', 'pool-destroy', pool.name], true);
        }
      }
      if (opts.keep) log(`kept work directory ${workDir}`);
      else await rm(workDir, { recursive: true, force: true });
    })());
  const onSignal = (sig: NodeJS.Signals) => {
    log(`${sig}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const loadAverage = loadavg();
    // 1. build the OVA (not counted)
    log(`building a ${opts.sizeGiB} GiB mixed-content OVA in ${workDir}`);
    const tb = process.hrtime.bigint();
    const app = await buildAppliance({ dir: workDir, name: APPLIANCE, content: 'mixed', diskSizeBytes, manifest: 'sha256' });
    const buildMs = Number(process.hrtime.bigint() - tb) / 1e6;
    // The raw source image is not needed any more; it would only occupy the page cache and the disk.
    await rm(app.rawDisk, { force: true });
    const ova = app.ova!;
    const archive = await openArchive(ova);
    const range = archive.locate(`${APPLIANCE}-disk1.vmdk`);
    const inPlace = sourceFilename({ ...range, format: 'vmdk' });
    const ovaBytes = (await stat(ova)).size;
    log(`built in ${fmtS(buildMs)}: OVA ${fmtMiB(ovaBytes)}, VMDK member at offset ${range.offset}, ${fmtMiB(range.size)}`);

    // 2. scratch pool (harness: transient dir pool on a fresh 0755 directory), and the import's temporary directory
    pool = await scratchPool();
    log(`scratch pool ${pool.name} at ${pool.path}`);
    const tempDir = join(workDir, 'tmp');
    await mkdir(tempDir);
    const bench: Bench = { workDir, ova, vmdk: app.vmdk, inPlace, pool, tempDir };
    const inflateBytesPerSecond = await inflateRate(app.vmdk);
    log(`one core inflates ${fmtMiB(inflateBytesPerSecond)}/s of guest data from this VMDK`);

    // 3-5. per format, alternate the order: even runs baseline first, odd runs import first.
    const runs: FormatRuns[] = [];
    for (const format of ['qcow2', 'raw'] as const) {
      const imports: ImportRun[] = [];
      const baselines: BaselineRun[] = [];
      for (let i = 0; i < opts.runs; i++) {
        const doImport = async () => {
          const entry: { domain: string; volume?: string } = { domain: '' };
          const r = await importOnce(bench, format);
          entry.domain = r.domain;
          entry.volume = r.volumeName;
          live.push(entry);
          log(`${format} run ${i + 1}: virt-ovf import ${fmtS(r.wallMs)}, peak RSS ${fmtMiB(r.peakRssBytes)}, temporary ${fmtBytes(r.maxWatchAllocBytes)}, extra disk ${fmtBytes(r.extraBytes)} (volume ${fmtBytes(r.volumeAllocBytes)})`);
          await cleanupImport(bench, r.domain, r.volumeName);
          live.splice(live.indexOf(entry), 1);
          imports.push(r);
        };
        const doBaseline = async () => {
          const a = await baseline(bench, 'vmdk', format);
          log(`${format} run ${i + 1}: qemu-img convert VMDK ${fmtS(a.wallMs)}`);
          baselines.push(a);
        };
        if (i % 2 === 0) {
          await doBaseline();
          await doImport();
        } else {
          await doImport();
          await doBaseline();
        }
      }
      runs.push({ format, imports, baselines });
    }
    const summary = summarize({ sizeGiB: opts.sizeGiB, diskSizeBytes, ovaBytes, vmdkBytes: range.size, cache: cacheModeUsed(), buildMs, loadAverage, inflateBytesPerSecond }, runs);
    // 6. report
    printTable(summary);
    if (opts.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    return 0;
  } catch (err) {
    process.stderr.write(`bench failed: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  } finally {
    // 7. clean up
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
