// Benchmark of the streamOptimized VMDK writer (src/export/vmdk) against
// `qemu-img convert -O vmdk -o subformat=streamOptimized` on the same mixed-content raw disk,
// measured in one run: wall time, output size, peak RSS, extra disk space, qemu-img compare.
//
//   node dist/scripts/bench-export.js [--size GiB=2] [--threads N] [--level L] [--no-qcow2] [--keep] [--work-dir DIR]

import { execFileSync } from 'node:child_process';
import { mkdtemp, open, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeStreamOptimized, type DiskSource } from '../src/export/vmdk/index.js';
import { loadMappings } from '../src/mapping/load.js';
import { bootSector } from './appliance/boot-sector.js';
import { writeRawDisk } from './appliance/disk.js';
import { extraBytes, measure, qemuImg, type Measured } from './bench/export-measure.js';
import { fmtMiB, fmtS, MiB } from './bench/format.js';
import { vmdkAdapter } from '../src/mapping/export-layout.js';

const GiB = 2 ** 30;
/** Targets from the export issue: speed-up, size ratio, RSS. */
const TARGET_SPEEDUP = 4;
const TARGET_SIZE_RATIO = 1.1;
const TARGET_RSS_MIB = 200;
const log = (m: string): void => void process.stderr.write(`[bench-export] ${m}\n`);

// --- child mode: run the writer into a file and print its result as JSON ---------------------

async function child(argv: string[]): Promise<void> {
  const [path, format, out, level, threads] = argv as [string, DiskSource['format'], string, string, string];
  const fh = await open(out, 'w');
  const t0 = process.hrtime.bigint();
  const result = await writeStreamOptimized({
    source: { path, format },
    level: Number(level),
    threads: Number(threads),
    fileName: 'bench-disk1.vmdk',
    adapter: vmdkAdapter(loadMappings().export, ''),
    write: async (chunk) => void (await fh.write(chunk)),
  });
  await fh.close();
  process.stdout.write(JSON.stringify({ ...result, innerMs: Number(process.hrtime.bigint() - t0) / 1e6 }));
}

// --- main ----------------------------------------------------------------------------------------


/** Defines a domain on qemu:///system using `qcow2` as its disk and times `virt-ovf export` of it to an OVA. */
async function runCommand(qcow2: string, dir: string): Promise<{ m: Measured; size: number }> {
  const name = `virt-ovf-bench-export-${process.pid}`;
  const xmlFile = join(dir, 'domain.xml');
  await writeFile(
    xmlFile,
    `<domain type='qemu'><name>${name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='q35'>hvm</type></os>` +
      `<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${qcow2}'/><target dev='sda' bus='sata'/></disk></devices></domain>`,
  );
  execFileSync('virsh', ['-c', 'qemu:///system', 'define', xmlFile], { stdio: 'ignore' });
  try {
    log('virt-ovf export (the whole command) ...');
    const ova = join(dir, 'export.ova');
    const cli = fileURLToPath(new URL('../../bin/virt-ovf', import.meta.url));
    const m = await measure(process.execPath, [cli, '-c', 'qemu:///system', '-q', 'export', name, '-o', ova], dir);
    const size = (await stat(ova)).size;
    await rm(ova);
    return { m, size };
  } finally {
    execFileSync('virsh', ['-c', 'qemu:///system', 'undefine', name], { stdio: 'ignore' });
  }
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return child(process.argv.slice(3));
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: '2' },
      threads: { type: 'string', default: String(availableParallelism()) },
      level: { type: 'string', default: '1' },
      'no-qcow2': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      'work-dir': { type: 'string', default: tmpdir() },
    },
  });
  const sizeBytes = Math.round((Number(values.size) * GiB) / 512) * 512;
  if (!(sizeBytes > 0)) throw new RangeError(`--size must be a positive number of GiB, got ${values.size}`);
  const dir = await mkdtemp(join(values['work-dir'], 'virt-ovf-bench-export-'));
  const self = fileURLToPath(import.meta.url);
  try {
    const raw = join(dir, 'disk.raw');
    log(`building a ${values.size} GiB mixed disk (40% holes, 40% text, 20% random; scripts/appliance/disk.ts) in ${dir}`);
    await writeRawDisk(raw, bootSector('VIRT-OVF-BENCH-EXPORT'), sizeBytes, 'mixed');

    log('qemu-img convert -f raw -O vmdk -o subformat=streamOptimized ...');
    const qemuOut = join(dir, 'qemu.vmdk');
    const q = await measure('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized', raw, qemuOut], dir);
    const qSize = (await stat(qemuOut)).size;
    await rm(qemuOut);

    const runOurs = async (src: string, format: string): Promise<{ m: Measured; size: number; same: boolean; r: Record<string, unknown> }> => {
      log(`writeStreamOptimized from ${format} (level ${values.level}, ${values.threads} threads) ...`);
      const out = join(dir, `ours-${format}.vmdk`);
      const m = await measure(process.execPath, [self, '--child', src, format, out, values.level, values.threads], dir);
      const same = qemuImg('compare', '-f', format, '-F', 'vmdk', src, out) === 'Images are identical.';
      const size = (await stat(out)).size;
      await rm(out);
      return { m, size, same, r: JSON.parse(m.stdout) as Record<string, unknown> };
    };
    const ours = await runOurs(raw, 'raw');
    let fromQcow2: Awaited<ReturnType<typeof runOurs>> | undefined;
    let command: { m: Measured; size: number } | undefined;
    if (!values['no-qcow2']) {
      const qcow2 = join(dir, 'disk.qcow2');
      qemuImg('convert', '-f', 'raw', '-O', 'qcow2', raw, qcow2);
      fromQcow2 = await runOurs(qcow2, 'qcow2');
      command = await runCommand(qcow2, dir);
      await rm(qcow2);
    }

    const speedup = q.wallMs / ours.m.wallMs;
    const sizeRatio = ours.size / qSize;
    const rows: Array<[string, string, string, string]> = [
      ['', 'qemu-img convert', 'virt-ovf writer (raw)', fromQcow2 ? 'virt-ovf writer (qcow2)' : ''],
      ['wall time', fmtS(q.wallMs), fmtS(ours.m.wallMs), fromQcow2 ? fmtS(fromQcow2.m.wallMs) : ''],
      ['output size', fmtMiB(qSize), fmtMiB(ours.size), fromQcow2 ? fmtMiB(fromQcow2.size) : ''],
      ['peak RSS', fmtMiB(q.peakRssBytes), fmtMiB(ours.m.peakRssBytes), fromQcow2 ? fmtMiB(fromQcow2.m.peakRssBytes) : ''],
      ['written beyond output', fmtMiB(extraBytes(q, qSize)), fmtMiB(extraBytes(ours.m, ours.size)), fromQcow2 ? fmtMiB(extraBytes(fromQcow2.m, fromQcow2.size)) : ''],
      ['qemu-img compare', '-', ours.same ? 'identical' : 'DIFFERENT', fromQcow2 ? (fromQcow2.same ? 'identical' : 'DIFFERENT') : ''],
      ['grains written', '-', String(ours.r['grainsWritten']), fromQcow2 ? String(fromQcow2.r['grainsWritten']) : ''],
    ];
    const w = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
    const load = loadavg().map((x) => x.toFixed(2)).join(' ');
    process.stdout.write(`\nstreamOptimized export of a ${values.size} GiB mixed disk (${availableParallelism()} CPUs, load average ${load}, page cache warm)\n\n`);
    for (const r of rows) process.stdout.write(`${r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd()}\n`);
    const ok = (b: boolean): string => (b ? 'ok' : 'MISSED');
    const rss = (ours.m.peakRssBytes ?? 0) / MiB;
    process.stdout.write(
      `\nspeed-up ${speedup.toFixed(1)}x (target >= ${TARGET_SPEEDUP}x: ${ok(speedup >= TARGET_SPEEDUP)}); ` +
        `size ratio ${sizeRatio.toFixed(3)} (target <= ${TARGET_SIZE_RATIO}: ${ok(sizeRatio <= TARGET_SIZE_RATIO)}); ` +
        `peak RSS ${rss.toFixed(0)} MiB (target <= ${TARGET_RSS_MIB}: ${ok(rss <= TARGET_RSS_MIB)}); ` +
        `written beyond the output ${fmtMiB(extraBytes(ours.m, ours.size))} (${ours.r['readMethod']}${fromQcow2 ? `; qcow2: ${fromQcow2.r['readMethod']}, ${fmtMiB(extraBytes(fromQcow2.m, fromQcow2.size))}` : ''})\n`,
    );
    if (command) {
      const ratio = q.wallMs / command.m.wallMs;
      process.stdout.write(
        `whole command: virt-ovf export of a stopped domain on that qcow2 disk to a streamOptimized OVA (manifest included): ` +
          `${fmtS(command.m.wallMs)}, OVA ${fmtMiB(command.size)}, peak RSS ${fmtMiB(command.m.peakRssBytes)}; ` +
          `${ratio.toFixed(1)}x faster than qemu-img's conversion alone (target >= ${TARGET_SPEEDUP}x: ${ok(ratio >= TARGET_SPEEDUP)})\n`,
      );
    }
    if (!ours.same || (fromQcow2 && !fromQcow2.same)) process.exitCode = 1;
  } finally {
    if (values.keep) log(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench-export: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
});
