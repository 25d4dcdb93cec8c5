// The import benchmark's result: the summary of all runs (medians, maxima, verdicts against the targets) and its table.
import { availableParallelism, loadavg } from 'node:os';
import { fmtBytes, fmtMiB, fmtS, median, MiB } from './format.js';
import { SAMPLE_MS } from './measure.js';
import type { BaselineRun, ImportRun } from './runs.js';

/** Targets (informational). */
const TARGET_RATIO = 1.1;
const TARGET_RSS_MIB = 150;
/** Free-space readings move by a few KiB for unrelated writes (libvirt's domain XML, logs); below this counts as zero. */
const EXTRA_TOLERANCE_BYTES = 1 * MiB;

export interface Summary {
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

export function printTable(s: Summary, imports: ImportRun[], vmdk: BaselineRun[], inPlace: BaselineRun[]): void {
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

/** What {@link summarize} needs besides the runs. Sizes in bytes, durations in milliseconds. */
export interface SummaryInput {
  readonly sizeGiB: number;
  readonly diskSizeBytes: number;
  readonly ovaBytes: number;
  readonly vmdkBytes: number;
  readonly cache: 'cold' | 'warm';
  readonly buildMs: number;
  /** os.loadavg() before the first run. */
  readonly loadAverage: number[];
}

/** Medians of the wall times, maxima of RSS and extra disk, where virt-ovf spends its time, and the verdicts. */
export function summarize(input: SummaryInput, imports: ImportRun[], vmdkRuns: BaselineRun[], inPlaceRuns: BaselineRun[]): Summary {
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
  return {
    ...input,
    runs: imports.length,
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
    loadAverageEnd: loadavg(),
    cpus: availableParallelism(),
    targets: { ratio: TARGET_RATIO, peakRssMiB: TARGET_RSS_MIB, extraBytes: 0, extraToleranceBytes: EXTRA_TOLERANCE_BYTES },
    verdicts: {
      ratio: ratio <= TARGET_RATIO,
      peakRss: peakRssBytes !== undefined && peakRssBytes <= TARGET_RSS_MIB * MiB,
      extraBytes: extraBytes <= EXTRA_TOLERANCE_BYTES,
    },
  };
}
