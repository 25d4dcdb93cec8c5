// The commands the import benchmark measures: virt-ovf import (the real CLI) and qemu-img convert
// of the same VMDK, extracted or read in place from the OVA; and the cleanup of an import.
import { rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_URI, uniqueName, type ScratchPool } from '../../test/libvirt/harness.js';
import { prepareCache } from './cache.js';
import { measure, type Measured } from './measure.js';
import { allocatedBytes, runSync } from './probe.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The real CLI: bin/virt-ovf at the project root (dist/scripts/bench/ -> ../../../bin). */
const VIRT_OVF = resolve(here, '..', '..', '..', 'bin', 'virt-ovf');

/** One import run: its measurements plus what the volume took and where virt-ovf spent the time. */
export interface ImportRun extends Measured {
  domain: string;
  volumeName: string;
  volumePath: string;
  volumeAllocBytes: number;
  extraBytes: number;
  /** Largest pool-directory allocation minus the final volume's (immune to other writers). */
  dirExtraBytes: number;
  phases: Record<string, number>;
}

/** The volume formats the benchmark imports into. */
export type VolumeFormat = 'qcow2' | 'raw';

export interface BaselineRun extends Measured {
  targetAllocBytes: number;
  extraBytes: number;
}

/** Everything a measured run needs. */
export interface Bench {
  workDir: string;
  ova: string;
  vmdk: string;
  /** json: pseudo-filename of the VMDK member inside the OVA (exactly what virt-ovf passes). */
  inPlace: string;
  pool: ScratchPool;
  /** The import's temporary directory ($TMPDIR and --tmpdir), watched for temporary bytes. */
  tempDir: string;
}

/** qemu-img convert of the VMDK alone (`vmdk`: the extracted file; `inplace`: the OVA member through json:) into a new `format` file in the pool directory. */
export async function baseline(b: Bench, kind: 'vmdk' | 'inplace', format: VolumeFormat = 'qcow2'): Promise<BaselineRun> {
  const target = join(b.pool.path, `${uniqueName('bench-baseline')}.${format}`);
  await prepareCache([kind === 'vmdk' ? b.vmdk : b.ova]);
  const src = kind === 'vmdk' ? b.vmdk : b.inPlace;
  const m = await measure('qemu-img', ['convert', '-f', 'vmdk', '-O', format, src, target], b.pool.path, b.workDir);
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

/** virt-ovf import of the OVA (manifest verified) into a `format` volume of the pool, its temporary directory watched. */
export async function importOnce(b: Bench, format: VolumeFormat = 'qcow2', converter: 'auto' | 'qemu-img' = 'auto'): Promise<ImportRun> {
  const domain = uniqueName('virt-ovf-bench');
  await prepareCache([b.ova]);
  const m = await measure(
    process.execPath,
    [VIRT_OVF, 'import', b.ova, '--connect', TEST_URI, '--pool', b.pool.name, '--name', domain, '--virt-type', 'qemu', '--format', format, '--converter', converter, '--tmpdir', b.tempDir, '--json'],
    b.pool.path,
    b.workDir,
    { watchDir: b.tempDir, env: { ...process.env, TMPDIR: b.tempDir } },
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
export async function cleanupImport(b: Bench, domain: string, volumeName: string | undefined): Promise<void> {
  runSync('virsh', ['-c', TEST_URI, '-q', 'undefine', domain], true);
  const vols = volumeName ? [volumeName] : runSync('virsh', ['-c', TEST_URI, '-q', 'vol-list', b.pool.name], true)
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.startsWith(domain));
  for (const v of vols) runSync('virsh', ['-c', TEST_URI, '-q', 'vol-delete', '--pool', b.pool.name, v], true);
}
