// The import benchmark's result: per volume format, the medians of virt-ovf import against
// qemu-img convert of the same VMDK alone, the speed-up, peak RSS, temporary bytes, and the verdicts.
import { availableParallelism, loadavg } from 'node:os';
import { fmtBytes, fmtMiB, fmtS, median, MiB } from './format.js';
import { SAMPLE_MS } from './measure.js';
import type { BaselineRun, ImportRun, VolumeFormat } from './runs.js';

/** Targets of issue 11: import at least 1.7× faster than qemu-img convert of the VMDK alone, RSS ≤ 200 MiB, no temporary bytes. */
const TARGET_SPEEDUP = 1.7;
const TARGET_RSS_MIB = 200;
/** Free-space readings move by a few KiB for unrelated writes (libvirt's domain XML, logs); below this counts as zero. */
const EXTRA_TOLERANCE_BYTES = 1 * MiB;

/** The runs of one volume format. */
export interface FormatRuns {
  readonly format: VolumeFormat;
  readonly imports: ImportRun[];
  /** qemu-img convert of the extracted VMDK into the same format. */
  readonly baselines: BaselineRun[];
}

/** The figures of one volume format. */
export interface FormatSummary {
  format: VolumeFormat;
  importWallMs: number[];
  baselineWallMs: number[];
  medians: { importMs: number; baselineMs: number };
  /** qemu-img's median time over virt-ovf's: above 1 means virt-ovf is faster. */
  speedup: number;
  /** GNU time %M of the import (the largest of node and the children it waited for: qemu-nbd). */
  peakRssBytes: number | undefined;
  /** Last VmHWM of the node process alone. */
  nodeHwmBytes: number | undefined;
  baselinePeakRssBytes: number | undefined;
  /** Largest allocation seen in the temporary directory, and the names created there, over all runs. */
  tempBytes: number;
  tempCreated: string[];
  extraBytesPerRun: number[];
  volumeAllocBytes: number;
  phasesMs: Record<string, number>;
  verdicts: { speedup: boolean; peakRss: boolean; tempBytes: boolean };
}

export interface Summary {
  sizeGiB: number;
  diskSizeBytes: number;
  ovaBytes: number;
  vmdkBytes: number;
  runs: number;
  cache: 'cold' | 'warm';
  buildMs: number;
  /** Guest bytes one core inflates per second from this VMDK's grains (zlib, main thread). */
  inflateBytesPerSecond: number;
  formats: FormatSummary[];
  loadAverage: number[];
  loadAverageEnd: number[];
  cpus: number;
  targets: { speedup: number; peakRssMiB: number; tempBytes: number };
}

/** What {@link summarize} needs besides the runs. Sizes in bytes, durations in milliseconds. */
export interface SummaryInput {
  readonly sizeGiB: number;
  readonly diskSizeBytes: number;
  readonly ovaBytes: number;
  readonly vmdkBytes: number;
  readonly cache: 'cold' | 'warm';
  readonly buildMs: number;
  readonly inflateBytesPerSecond: number;
  /** os.loadavg() before the first run. */
  readonly loadAverage: number[];
}

const defined = (xs: Array<number | undefined>): number[] => xs.filter((v): v is number => v !== undefined);
const maxOf = (xs: Array<number | undefined>): number | undefined => (defined(xs).length > 0 ? Math.max(...defined(xs)) : undefined);

/** Medians, maxima, where virt-ovf spends its time, and the verdicts, per format. */
export function summarize(input: SummaryInput, runs: readonly FormatRuns[]): Summary {
  const formats = runs.map(({ format, imports, baselines }): FormatSummary => {
    const medians = { importMs: median(imports.map((r) => r.wallMs)), baselineMs: median(baselines.map((r) => r.wallMs)) };
    const speedup = medians.baselineMs / medians.importMs;
    const peakRssBytes = maxOf(imports.map((r) => r.peakRssBytes));
    const tempBytes = Math.max(...imports.map((r) => r.maxWatchAllocBytes));
    const phaseNames = [...new Set(imports.flatMap((r) => Object.keys(r.phases)))];
    return {
      format,
      importWallMs: imports.map((r) => r.wallMs),
      baselineWallMs: baselines.map((r) => r.wallMs),
      medians,
      speedup,
      peakRssBytes,
      nodeHwmBytes: maxOf(imports.map((r) => r.hwmBytes)),
      baselinePeakRssBytes: maxOf(baselines.map((r) => r.peakRssBytes)),
      tempBytes,
      tempCreated: [...new Set(imports.flatMap((r) => r.watchCreated))],
      extraBytesPerRun: imports.map((r) => r.extraBytes),
      volumeAllocBytes: imports[0]?.volumeAllocBytes ?? 0,
      phasesMs: Object.fromEntries(phaseNames.map((k) => [k, median(defined(imports.map((r) => r.phases[k])))])),
      verdicts: { speedup: speedup >= TARGET_SPEEDUP, peakRss: peakRssBytes !== undefined && peakRssBytes <= TARGET_RSS_MIB * MiB, tempBytes: tempBytes === 0 },
    };
  });
  return {
    ...input,
    runs: runs[0]?.imports.length ?? 0,
    formats,
    loadAverageEnd: loadavg(),
    cpus: availableParallelism(),
    targets: { speedup: TARGET_SPEEDUP, peakRssMiB: TARGET_RSS_MIB, tempBytes: 0 },
  };
}

export function printTable(s: Summary): void {
  const p = (v: string, w: number) => v.padEnd(w);
  const l = (v: string, w: number) => v.padStart(w);
  const out: string[] = [];
  const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
  out.push('');
  out.push(`virt-ovf benchmark: ${s.sizeGiB} GiB virtual disk (40% never written / 40% text / 20% random), streamOptimized VMDK ${fmtMiB(s.vmdkBytes)} in OVA ${fmtMiB(s.ovaBytes)}, SHA256 manifest verified`);
  out.push(`cache: ${s.cache === 'cold' ? 'COLD (page cache dropped before each run; node and qemu-img executables re-warmed)' : 'WARM cache (could not drop the page cache; one warm-up read of the inputs before each run)'}`);
  out.push(`build of the OVA: ${fmtS(s.buildMs)} (not counted); load average ${s.loadAverage.map((v) => v.toFixed(2)).join(' ')} at the start, ${s.loadAverageEnd.map((v) => v.toFixed(2)).join(' ')} at the end on ${s.cpus} CPU(s) (other load makes wall times noisy)`);
  out.push(`inflate rate of one core on this VMDK's grains: ${fmtMiB(s.inflateBytesPerSecond)}/s of guest data, i.e. ${fmtS((s.diskSizeBytes * 0.6 * 1000) / s.inflateBytesPerSecond)} per core for its ~60% written data (the limit with ${s.cpus} cores: about ${fmtS((s.diskSizeBytes * 0.6 * 1000) / s.inflateBytesPerSecond / s.cpus)})`);
  const runsHeader = Array.from({ length: s.runs }, (_, i) => l(`run ${i + 1}`, 12)).join('');
  out.push('');
  out.push(`${p('wall time', 48)}${runsHeader}${l('median', 12)}`);
  const row = (name: string, xs: number[], med: number) => out.push(`${p(name, 48)}${xs.map((x) => l(fmtS(x), 12)).join('')}${l(fmtS(med), 12)}`);
  for (const f of s.formats) {
    row(`virt-ovf import -> ${f.format} (CLI, manifest verified)`, f.importWallMs, f.medians.importMs);
    row(`qemu-img convert VMDK -> ${f.format}`, f.baselineWallMs, f.medians.baselineMs);
  }
  out.push('');
  out.push(`${p('metric', 48)}${l('virt-ovf', 12)}${l('qemu-img', 12)}${l('target', 14)}  result`);
  for (const f of s.formats) {
    out.push(`${p(`speed-up over qemu-img, ${f.format} (median)`, 48)}${l(`${f.speedup.toFixed(2)}x`, 12)}${l('1.00x', 12)}${l(`>= ${TARGET_SPEEDUP.toFixed(2)}x`, 14)}  ${verdict(f.verdicts.speedup)}`);
    out.push(`${p(`peak RSS, ${f.format} (GNU time %M, max of runs)`, 48)}${l(fmtMiB(f.peakRssBytes), 12)}${l(fmtMiB(f.baselinePeakRssBytes), 12)}${l(`<= ${TARGET_RSS_MIB} MiB`, 14)}  ${verdict(f.verdicts.peakRss)}`);
    out.push(`${p(`  node alone (VmHWM), ${f.format}`, 48)}${l(fmtMiB(f.nodeHwmBytes), 12)}`);
    out.push(`${p(`temporary bytes, ${f.format} (max allocated)`, 48)}${l(String(f.tempBytes), 12)}${l('', 12)}${l('0', 14)}  ${verdict(f.verdicts.tempBytes)}`);
    out.push(`${p(`extra disk, ${f.format} (max drop - volume)`, 48)}${f.extraBytesPerRun.map((x) => l(fmtBytes(x), 12)).join('')}`);
  }
  out.push('');
  for (const f of s.formats) {
    out.push(`where virt-ovf spends its time, ${f.format} (median over runs):`);
    for (const [k, v] of Object.entries(f.phasesMs)) out.push(`  ${p(k, 46)}${l(fmtS(v), 10)}`);
    out.push(`  names created in the temporary directory: ${f.tempCreated.join(', ') || 'none'} (the qemu-nbd socket directory holds no data)`);
  }
  out.push('');
  out.push(`temporary bytes: the import runs with TMPDIR and --tmpdir on one directory, whose allocation (st_blocks of every file, 4 levels) is sampled every ${SAMPLE_MS} ms and whose new names inotify records`);
  out.push(`extra disk: largest drop of free space (statfs every ${SAMPLE_MS} ms) on the pool's filesystem minus the final volume's allocation; other writers on the same filesystem add noise`);
  out.push(`extra disk tolerance: ${fmtBytes(EXTRA_TOLERANCE_BYTES)}`);
  process.stdout.write(out.join('\n') + '\n');
}
