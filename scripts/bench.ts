// Benchmark: `virt-ovf import` of a mixed-content OVA against plain `qemu-img convert` of the same disk
// (wall time, peak RSS of the virt-ovf process, extra disk space used during the import).
//
//   npm run bench -- [--size GiB] [--runs N] [--keep] [--json] [--work-dir DIR]

import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { openArchive } from '../src/archive/archive.js';
import { sourceFilename } from '../src/storage/qemu-img.js';
import { scratchPool, TEST_URI, uniqueName, type ScratchPool } from '../test/libvirt/harness.js';
import { buildAppliance } from './appliance.js';

const USAGE = `usage: npm run bench -- [--size GiB] [--runs N] [--keep] [--json] [--work-dir DIR]

  --size GiB       virtual disk size in GiB, fractional allowed (default 2)
  --runs N         measured repetitions of each command (default 3; the median is reported)
  --keep           keep the work directory (OVA, VMDK, raw disk) afterwards
  --json           also print the figures as JSON on stdout
  --work-dir DIR   parent of the work directory (default $TMPDIR)
`;

const MiB = 2 ** 20;
/** How often free space and RSS are sampled while a command runs. */
const SAMPLE_MS = 50;
/** Targets (informational). */
const TARGET_RATIO = 1.1;
const TARGET_RSS_MIB = 150;
/** Free-space readings move by a few KiB for unrelated writes (libvirt's domain XML, logs); below this counts as zero. */
const EXTRA_TOLERANCE_BYTES = 1 * MiB;
const GNU_TIME = '/usr/bin/time';
const APPLIANCE = 'benchvm';

const here = dirname(fileURLToPath(import.meta.url));
/** The real CLI: bin/virt-ovf at the project root (dist/scripts/ -> ../../bin). */
const VIRT_OVF = resolve(here, '..', '..', 'bin', 'virt-ovf');

interface Options {
  sizeGiB: number;
  runs: number;
  keep: boolean;
  json: boolean;
  workParent: string;
}

/** What one measured command did. */
interface Measured {
  wallMs: number;
  /** Peak RSS in bytes, and how it was obtained. */
  peakRssBytes: number | undefined;
  rssMethod: string;
  /** Last VmHWM read from /proc for the measured process itself (not its children). */
  hwmBytes: number | undefined;
  /** Largest drop of the filesystem's free space below its value just before the start. */
  maxDropBytes: number;
  /** Free-space drop still present after exit. */
  endDropBytes: number;
  /** Largest total allocation seen in the pool directory (files up to two levels deep). */
  maxDirAllocBytes: number;
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** Date.now() at spawn, to align the tool's own timestamps. */
  startedAt: number;
}

/** One import run: its measurements plus what the volume took and where virt-ovf spent the time. */
interface ImportRun extends Measured {
  domain: string;
  volumeName: string;
  volumePath: string;
  volumeAllocBytes: number;
  extraBytes: number;
  /** Largest pool-directory allocation minus the final volume's (immune to other writers). */
  dirExtraBytes: number;
  phases: Record<string, number>;
}

interface BaselineRun extends Measured {
  targetAllocBytes: number;
  extraBytes: number;
}

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const fmtS = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const fmtMiB = (bytes: number | undefined): string => (bytes === undefined ? 'n/a' : `${(bytes / MiB).toFixed(1)} MiB`);
function fmtBytes(bytes: number): string {
  const sign = bytes < 0 ? '-' : '';
  const b = Math.abs(bytes);
  if (b < 1024) return `${sign}${b} B`;
  if (b < MiB) return `${sign}${(b / 1024).toFixed(1)} KiB`;
  return `${sign}${(b / MiB).toFixed(1)} MiB`;
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** Runs a command to completion; throws with its stderr when it fails. */
function runSync(cmd: string, args: string[], allowFail = false): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (!allowFail && (r.error || r.status !== 0)) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr.trim()}`);
  }
  return r.stdout;
}

async function freeBytes(path: string): Promise<number> {
  const s = await statfs(path);
  return s.bfree * s.bsize;
}

async function allocatedBytes(path: string): Promise<number> {
  return (await stat(path)).blocks * 512;
}

/** Allocated bytes of the files in `dir` and its subdirectories (two levels: a temp dir inside the pool). */
async function dirAllocatedBytes(dir: string, depth = 2): Promise<number> {
  let total = 0;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      if (depth > 1) total += await dirAllocatedBytes(path, depth - 1);
    } else {
      total += await allocatedBytes(path).catch(() => 0);
    }
  }
  return total;
}

/** Reads the whole file once (fills the page cache). */
async function readThrough(path: string): Promise<void> {
  for await (const _ of createReadStream(path, { highWaterMark: 4 * MiB })) {
    // discard
  }
}

/** A kB field of /proc/PID/status, in bytes, or undefined when the process is gone. */
async function procStatusBytes(pid: number, field: 'VmHWM' | 'VmRSS'): Promise<number | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** First child pid of `pid` (the command /usr/bin/time runs), or undefined. */
async function firstChild(pid: number): Promise<number | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
    const first = text.trim().split(/\s+/)[0];
    return first ? Number(first) : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------
// Page cache
// ---------------------------------------------------------------------------

/** Cache policy decided once: drop before each run (cold), or warm-up reads (warm). */
let cacheMode: 'cold' | 'warm' | undefined;

/**
 * Cold mode: sync and drop the page cache, then re-warm only the two runtimes (node and
 * qemu-img executables) so the data reads are cold but neither tool pays for loading its
 * interpreter from disk. Warm mode (no permission): read the input files once.
 */
async function prepareCache(inputs: string[]): Promise<void> {
  if (cacheMode !== 'warm') {
    try {
      runSync('sync', []);
      await writeFile('/proc/sys/vm/drop_caches', '3\n');
      cacheMode = 'cold';
      runSync(process.execPath, ['-e', '0']);
      runSync('qemu-img', ['--version']);
      return;
    } catch (err) {
      if (cacheMode === 'cold') throw err;
      cacheMode = 'warm';
      log(`cannot drop the page cache (${(err as Error).message}); measuring with a WARM cache`);
    }
  }
  for (const path of inputs) await readThrough(path);
}

// ---------------------------------------------------------------------------
// Measuring one command
// ---------------------------------------------------------------------------

/**
 * Spawns `cmd args` and measures wall time (process.hrtime), peak RSS and the largest drop of
 * free space on the filesystem holding `fsPath` (fs.statfs every 50 ms).
 * Peak RSS: GNU time's %M when /usr/bin/time exists (the maximum over the process and the
 * children it waited for), plus the last VmHWM sampled from /proc for the process itself;
 * without GNU time, the maximum VmRSS sampled every 50 ms.
 */
async function measure(cmd: string, args: string[], fsPath: string, workDir: string): Promise<Measured> {
  const useTime = existsSync(GNU_TIME);
  const timeFile = join(workDir, `time-${process.pid}-${Date.now()}.txt`);
  const free0 = await freeBytes(fsPath);
  let minFree = free0;
  let maxDirAlloc = 0;
  let maxRss = 0;
  let lastHwm: number | undefined;
  let targetPid: number | undefined;

  const startedAt = Date.now();
  const t0 = process.hrtime.bigint();
  const child = useTime
    ? spawn(GNU_TIME, ['-f', '%M', '-o', timeFile, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));

  let busy = false;
  const sample = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      minFree = Math.min(minFree, await freeBytes(fsPath));
      maxDirAlloc = Math.max(maxDirAlloc, await dirAllocatedBytes(fsPath));
      if (child.pid !== undefined) {
        targetPid ??= useTime ? await firstChild(child.pid) : child.pid;
        if (targetPid !== undefined) {
          const rss = await procStatusBytes(targetPid, 'VmRSS');
          if (rss !== undefined) maxRss = Math.max(maxRss, rss);
          lastHwm = (await procStatusBytes(targetPid, 'VmHWM')) ?? lastHwm;
        }
      }
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void sample(), SAMPLE_MS);
  void sample();

  const exitCode = await new Promise<number | null>((res, rej) => {
    child.once('error', rej);
    child.once('exit', (code) => res(code));
  });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  clearInterval(timer);
  await new Promise<void>((res) => (child.stdout.readableEnded && child.stderr.readableEnded ? res() : child.once('close', () => res())));
  const freeEnd = await freeBytes(fsPath);
  minFree = Math.min(minFree, freeEnd);
  maxDirAlloc = Math.max(maxDirAlloc, await dirAllocatedBytes(fsPath));

  let peakRssBytes: number | undefined;
  let rssMethod: string;
  if (useTime) {
    const kb = Number((await readFile(timeFile, 'utf8').catch(() => '')).trim().split('\n').pop());
    await rm(timeFile, { force: true });
    const timeRss = Number.isFinite(kb) && kb > 0 ? kb * 1024 : undefined;
    peakRssBytes = timeRss ?? lastHwm;
    rssMethod = `GNU time %M (maximum over the process and the children it waited for, i.e. node or qemu-img); VmHWM row: last /proc/PID/status sample of the node process alone`;
  } else {
    peakRssBytes = maxRss > 0 ? maxRss : undefined;
    rssMethod = `max VmRSS sampled every ${SAMPLE_MS} ms`;
  }
  return {
    wallMs,
    peakRssBytes,
    rssMethod,
    hwmBytes: lastHwm,
    maxDropBytes: free0 - minFree,
    endDropBytes: free0 - freeEnd,
    maxDirAllocBytes: maxDirAlloc,
    exitCode,
    stdout: Buffer.concat(out).toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
    startedAt,
  };
}

// ---------------------------------------------------------------------------
// The measured commands
// ---------------------------------------------------------------------------

interface Bench {
  opts: Options;
  workDir: string;
  ova: string;
  vmdk: string;
  /** json: pseudo-filename of the VMDK member inside the OVA (exactly what virt-ovf passes). */
  inPlace: string;
  pool: ScratchPool;
}

async function baseline(b: Bench, kind: 'vmdk' | 'inplace'): Promise<BaselineRun> {
  const target = join(b.pool.path, `${uniqueName('bench-baseline')}.qcow2`);
  await prepareCache([kind === 'vmdk' ? b.vmdk : b.ova]);
  const src = kind === 'vmdk' ? b.vmdk : b.inPlace;
  const m = await measure('qemu-img', ['convert', '-f', 'vmdk', '-O', 'qcow2', src, target], b.pool.path, b.workDir);
  try {
    if (m.exitCode !== 0) throw new Error(`qemu-img convert (${kind}) exited with ${m.exitCode}: ${m.stderr.trim()}`);
    const targetAllocBytes = await allocatedBytes(target);
    return { ...m, targetAllocBytes, extraBytes: m.maxDropBytes - targetAllocBytes };
  } finally {
    await rm(target, { force: true });
  }
}

/** Seconds between the tool's own event timestamps: where the import spends its time. */
function phasesOf(m: Measured): Record<string, number> {
  const events: Array<{ time: number; kind: string; message?: string; task?: string }> = [];
  for (const line of m.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const e = JSON.parse(line) as { time?: string; kind: string; message?: string; task?: string };
      if (e.time) events.push({ ...e, time: Date.parse(e.time) });
    } catch {
      // not an event line
    }
  }
  const first = events[0]?.time;
  const convStart = events.find((e) => e.kind === 'stage' && e.message?.startsWith('Converting'))?.time;
  const convEnd = events.find((e) => e.kind === 'progress-end' && e.task === 'convert')?.time;
  const verified = events.find((e) => e.kind === 'stage' && e.message?.startsWith('Manifest'))?.time;
  const finished = events.find((e) => e.kind === 'stage' && e.message?.startsWith('Finished'))?.time;
  const end = m.startedAt + m.wallMs;
  const phases: Record<string, number> = {};
  if (first !== undefined) phases['startup (spawn to first event)'] = first - m.startedAt;
  if (first !== undefined && convStart !== undefined) phases['plan + libvirt checks'] = convStart - first;
  if (convStart !== undefined && convEnd !== undefined) phases['info + volume + qemu-img convert'] = convEnd - convStart;
  if (verified !== undefined && convStart !== undefined) phases['manifest verified at (from convert start)'] = verified - convStart;
  if (convEnd !== undefined && finished !== undefined) phases['after convert: await verify + define'] = finished - convEnd;
  if (finished !== undefined) phases['exit (finished to process exit)'] = end - finished;
  return phases;
}

async function importOnce(b: Bench): Promise<ImportRun> {
  const domain = uniqueName('virt-ovf-bench');
  await prepareCache([b.ova]);
  const m = await measure(
    process.execPath,
    [VIRT_OVF, 'import', b.ova, '--connect', TEST_URI, '--pool', b.pool.name, '--name', domain, '--virt-type', 'qemu', '--json'],
    b.pool.path,
    b.workDir,
  );
  const resultLine = m.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { kind: string; result?: { domain: string; volumes: Array<{ name: string; path: string }> }; message?: string })
    .find((e) => e.kind === 'result' || e.kind === 'error');
  if (m.exitCode !== 0 || resultLine?.kind !== 'result' || !resultLine.result) {
    await cleanupImport(b, domain, undefined);
    throw new Error(`virt-ovf import exited with ${m.exitCode}: ${resultLine?.message ?? m.stderr.trim()}`);
  }
  const vol = resultLine.result.volumes[0];
  if (!vol) throw new Error('virt-ovf import reported no volume');
  const volumeAllocBytes = await allocatedBytes(vol.path);
  return {
    ...m,
    domain,
    volumeName: vol.name,
    volumePath: vol.path,
    volumeAllocBytes,
    extraBytes: m.maxDropBytes - volumeAllocBytes,
    dirExtraBytes: m.maxDirAllocBytes - volumeAllocBytes,
    phases: phasesOf(m),
  };
}

/** virsh undefine + virsh vol-delete; tolerant of either being gone already. */
async function cleanupImport(b: Bench, domain: string, volumeName: string | undefined): Promise<void> {
  runSync('virsh', ['-c', TEST_URI, '-q', 'undefine', domain], true);
  const vols = volumeName ? [volumeName] : runSync('virsh', ['-c', TEST_URI, '-q', 'vol-list', b.pool.name], true)
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.startsWith(domain));
  for (const v of vols) runSync('virsh', ['-c', TEST_URI, '-q', 'vol-delete', '--pool', b.pool.name, v], true);
}

// ---------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------

interface Summary {
  sizeGiB: number;
  diskSizeBytes: number;
  ovaBytes: number;
  vmdkBytes: number;
  runs: number;
  cache: 'cold' | 'warm';
  buildMs: number;
  importWallMs: number[];
  baselineVmdkWallMs: number[];
  baselineInPlaceWallMs: number[];
  medians: { importMs: number; baselineVmdkMs: number; baselineInPlaceMs: number };
  ratio: number;
  peakRssBytes: number | undefined;
  rssMethod: string;
  baselinePeakRssBytes: number | undefined;
  extraBytes: number;
  extraBytesPerRun: number[];
  poolDirExtraBytesPerRun: number[];
  baselineExtraBytesPerRun: number[];
  volumeAllocBytes: number;
  phasesMs: Record<string, number>;
  loadAverage: number[];
  loadAverageEnd: number[];
  cpus: number;
  targets: { ratio: number; peakRssMiB: number; extraBytes: number; extraToleranceBytes: number };
  verdicts: { ratio: boolean; peakRss: boolean; extraBytes: boolean };
}

function printTable(s: Summary, imports: ImportRun[], vmdk: BaselineRun[], inPlace: BaselineRun[]): void {
  const p = (v: string, w: number) => v.padEnd(w);
  const l = (v: string, w: number) => v.padStart(w);
  const out: string[] = [];
  const runsHeader = Array.from({ length: s.runs }, (_, i) => l(`run ${i + 1}`, 12)).join('');
  out.push('');
  out.push(`virt-ovf benchmark: ${s.sizeGiB} GiB virtual disk (40% never written / 40% text / 20% random), streamOptimized VMDK ${fmtMiB(s.vmdkBytes)} in OVA ${fmtMiB(s.ovaBytes)}, SHA256 manifest`);
  out.push(`cache: ${s.cache === 'cold' ? 'COLD (page cache dropped before each run; node and qemu-img executables re-warmed)' : 'WARM cache (could not drop the page cache; one warm-up read of the inputs before each run)'}`);
  out.push(`build of the OVA: ${fmtS(s.buildMs)} (not counted); load average ${s.loadAverage.map((v) => v.toFixed(2)).join(' ')} at the start, ${s.loadAverageEnd.map((v) => v.toFixed(2)).join(' ')} at the end on ${s.cpus} CPU(s) (other load makes wall times noisy)`);
  out.push('');
  out.push(`${p('wall time', 44)}${runsHeader}${l('median', 12)}`);
  const row = (name: string, xs: number[], med: number) => out.push(`${p(name, 44)}${xs.map((x) => l(fmtS(x), 12)).join('')}${l(fmtS(med), 12)}`);
  row('virt-ovf import (CLI, manifest verified)', s.importWallMs, s.medians.importMs);
  row('qemu-img convert, extracted VMDK', s.baselineVmdkWallMs, s.medians.baselineVmdkMs);
  row('qemu-img convert, json: member of the OVA', s.baselineInPlaceWallMs, s.medians.baselineInPlaceMs);
  out.push(`${p('virt-ovf peak RSS', 44)}${imports.map((r) => l(fmtMiB(r.peakRssBytes), 12)).join('')}`);
  out.push(`${p('virt-ovf VmHWM (node alone, sampled)', 44)}${imports.map((r) => l(fmtMiB(r.hwmBytes), 12)).join('')}`);
  out.push(`${p('qemu-img (in-place) peak RSS', 44)}${inPlace.map((r) => l(fmtMiB(r.peakRssBytes), 12)).join('')}`);
  out.push(`${p('virt-ovf extra disk (max drop - volume)', 44)}${imports.map((r) => l(fmtBytes(r.extraBytes), 12)).join('')}`);
  out.push(`${p('  cross-check: pool dir max alloc - volume', 44)}${imports.map((r) => l(fmtBytes(r.dirExtraBytes), 12)).join('')}`);
  out.push(`${p('qemu-img extra disk, extracted VMDK', 44)}${vmdk.map((r) => l(fmtBytes(r.extraBytes), 12)).join('')}`);
  out.push(`${p('qemu-img extra disk, json: member', 44)}${inPlace.map((r) => l(fmtBytes(r.extraBytes), 12)).join('')}`);
  out.push('');
  out.push('where virt-ovf spends its time (median over runs):');
  for (const [k, v] of Object.entries(s.phasesMs)) out.push(`  ${p(k, 46)}${l(fmtS(v), 10)}`);
  out.push('');
  const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
  out.push(`${p('metric', 44)}${l('virt-ovf', 12)}${l('qemu-img', 12)}${l('target', 14)}  result`);
  out.push(`${p('wall time (median)', 44)}${l(fmtS(s.medians.importMs), 12)}${l(fmtS(s.medians.baselineInPlaceMs), 12)}${l('', 14)}`);
  out.push(`${p('ratio virt-ovf / qemu-img (in-place)', 44)}${l(s.ratio.toFixed(3), 12)}${l('1.000', 12)}${l(`<= ${TARGET_RATIO.toFixed(2)}`, 14)}  ${verdict(s.verdicts.ratio)}`);
  out.push(`${p('ratio virt-ovf / qemu-img (extracted VMDK)', 44)}${l((s.medians.importMs / s.medians.baselineVmdkMs).toFixed(3), 12)}${l('', 12)}${l('(info)', 14)}`);
  out.push(`${p('peak RSS of virt-ovf (max over runs)', 44)}${l(fmtMiB(s.peakRssBytes), 12)}${l(fmtMiB(s.baselinePeakRssBytes), 12)}${l(`<= ${TARGET_RSS_MIB} MiB`, 14)}  ${verdict(s.verdicts.peakRss)}`);
  out.push(`${p('extra disk bytes (max over runs)', 44)}${l(String(s.extraBytes), 12)}${l('', 12)}${l(`0 (±${fmtBytes(EXTRA_TOLERANCE_BYTES)})`, 14)}  ${verdict(s.verdicts.extraBytes)}`);
  out.push('');
  out.push(`peak RSS method: ${s.rssMethod}`);
  out.push(`extra disk: largest drop of free space (statfs every ${SAMPLE_MS} ms) on the pool's filesystem minus the final volume's allocation (${fmtBytes(s.volumeAllocBytes)}); other writers on the same filesystem add noise, the cross-check row (largest allocation inside the pool directory, where virt-ovf puts temporary files by default) does not see them`);
  process.stdout.write(out.join('\n') + '\n');
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

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

    // 2. scratch pool (harness: transient dir pool on a fresh 0755 directory)
    pool = await scratchPool();
    log(`scratch pool ${pool.name} at ${pool.path}`);
    const bench: Bench = { opts, workDir, ova, vmdk: app.vmdk, inPlace, pool };

    // 3-5. alternate the order: even runs baselines first, odd runs import first.
    const imports: ImportRun[] = [];
    const vmdkRuns: BaselineRun[] = [];
    const inPlaceRuns: BaselineRun[] = [];
    for (let i = 0; i < opts.runs; i++) {
      const doImport = async () => {
        const entry: { domain: string; volume?: string } = { domain: '' };
        const r = await importOnce(bench);
        entry.domain = r.domain;
        entry.volume = r.volumeName;
        live.push(entry);
        log(`run ${i + 1}: virt-ovf import ${fmtS(r.wallMs)}, peak RSS ${fmtMiB(r.peakRssBytes)}, extra disk ${fmtBytes(r.extraBytes)} (volume ${fmtBytes(r.volumeAllocBytes)})`);
        await cleanupImport(bench, r.domain, r.volumeName);
        live.splice(live.indexOf(entry), 1);
        imports.push(r);
      };
      const doBaselines = async () => {
        const a = await baseline(bench, 'vmdk');
        log(`run ${i + 1}: qemu-img convert extracted VMDK ${fmtS(a.wallMs)}`);
        const c = await baseline(bench, 'inplace');
        log(`run ${i + 1}: qemu-img convert json: member ${fmtS(c.wallMs)}`);
        vmdkRuns.push(a);
        inPlaceRuns.push(c);
      };
      if (i % 2 === 0) {
        await doBaselines();
        await doImport();
      } else {
        await doImport();
        await doBaselines();
      }
    }

    // 6. report
    const medians = {
      importMs: median(imports.map((r) => r.wallMs)),
      baselineVmdkMs: median(vmdkRuns.map((r) => r.wallMs)),
      baselineInPlaceMs: median(inPlaceRuns.map((r) => r.wallMs)),
    };
    const rssValues = imports.map((r) => r.peakRssBytes).filter((v): v is number => v !== undefined);
    const baseRss = inPlaceRuns.map((r) => r.peakRssBytes).filter((v): v is number => v !== undefined);
    const peakRssBytes = rssValues.length > 0 ? Math.max(...rssValues) : undefined;
    const extraBytes = Math.max(...imports.map((r) => r.extraBytes));
    const phaseNames = [...new Set(imports.flatMap((r) => Object.keys(r.phases)))];
    const phasesMs = Object.fromEntries(phaseNames.map((k) => [k, median(imports.map((r) => r.phases[k]).filter((v): v is number => v !== undefined))]));
    const ratio = medians.importMs / medians.baselineInPlaceMs;
    const summary: Summary = {
      sizeGiB: opts.sizeGiB,
      diskSizeBytes,
      ovaBytes,
      vmdkBytes: range.size,
      runs: opts.runs,
      cache: cacheMode ?? 'warm',
      buildMs,
      importWallMs: imports.map((r) => r.wallMs),
      baselineVmdkWallMs: vmdkRuns.map((r) => r.wallMs),
      baselineInPlaceWallMs: inPlaceRuns.map((r) => r.wallMs),
      medians,
      ratio,
      peakRssBytes,
      rssMethod: imports[0]?.rssMethod ?? 'n/a',
      baselinePeakRssBytes: baseRss.length > 0 ? Math.max(...baseRss) : undefined,
      extraBytes,
      extraBytesPerRun: imports.map((r) => r.extraBytes),
      poolDirExtraBytesPerRun: imports.map((r) => r.dirExtraBytes),
      baselineExtraBytesPerRun: [...vmdkRuns, ...inPlaceRuns].map((r) => r.extraBytes),
      volumeAllocBytes: imports[0]?.volumeAllocBytes ?? 0,
      phasesMs,
      loadAverage,
      loadAverageEnd: loadavg(),
      cpus: availableParallelism(),
      targets: { ratio: TARGET_RATIO, peakRssMiB: TARGET_RSS_MIB, extraBytes: 0, extraToleranceBytes: EXTRA_TOLERANCE_BYTES },
      verdicts: {
        ratio: ratio <= TARGET_RATIO,
        peakRss: peakRssBytes !== undefined && peakRssBytes <= TARGET_RSS_MIB * MiB,
        extraBytes: extraBytes <= EXTRA_TOLERANCE_BYTES,
      },
    };
    printTable(summary, imports, vmdkRuns, inPlaceRuns);
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
