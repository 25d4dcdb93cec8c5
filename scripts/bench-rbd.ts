// Benchmark: `virt-ovf import` of the mixed-content bench OVA into an rbd pool (QEMU's rbd driver on a
// single-node Ceph cluster started for the run) against the same import into a local dir pool.
//
//   npm run bench:rbd -- [--size GiB] [--runs N] [--json]
//
// Each run imports once into each pool, alternating (define only, no start), then removes the domains and
// volumes. Reported: median wall times, the rbd/local ratio (target ≤ 1.11), and the rate of the rbd write.
// The OSD keeps its bluestore block file on /dev/shm. Needs the packages of scripts/system-packages.sh --ceph.
import { execa } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cephMissing, rbdPool, startCeph } from '../test/harness/ceph.js';
import { scratchPool, TEST_URI, uniqueName } from '../test/libvirt/harness.js';
import { buildAppliance } from './appliance.js';
import { fmtS, log, median, MiB } from './bench/format.js';

const CLI = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/virt-ovf');
const USAGE = 'usage: npm run bench:rbd -- [--size GiB] [--runs N] [--json]\n';

/** One timed import into `pool`, then the domain and its volume removed; wall time in ms. */
async function importInto(ova: string, pool: string, label: string, format?: 'raw'): Promise<number> {
  const name = uniqueName(`bench-rbd-${label}`);
  const started = process.hrtime.bigint();
  const r = await execa('node', [CLI, 'import', ova, '--pool', pool, '--name', name, '--virt-type', 'qemu', ...(format ? ['--format', format] : [])], { reject: false, env: { LIBVIRT_DEFAULT_URI: TEST_URI }, stdin: 'ignore' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const virsh = (...args: string[]) => execa('virsh', ['-c', TEST_URI, ...args], { reject: false });
  await virsh('undefine', name, '--nvram');
  const vols = String((await virsh('vol-list', pool)).stdout);
  for (const m of vols.matchAll(new RegExp(`^\\s*(${name}\\S*)`, 'gm'))) await virsh('vol-delete', '--pool', pool, m[1]!);
  if (r.exitCode !== 0) throw new Error(`import into ${pool} failed: ${String(r.stderr)}`);
  return ms;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { size: { type: 'string', default: '2' }, runs: { type: 'string', default: '3' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } } });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const sizeGiB = Number(values.size);
  const runs = Number(values.runs);
  if (!(sizeGiB > 0) || !Number.isInteger(runs) || runs < 1) {
    process.stderr.write(USAGE);
    return 2;
  }
  const missing = await cephMissing();
  if (missing) {
    process.stderr.write(`bench-rbd: cannot run here: ${missing}\n`);
    return 0;
  }
  const work = await mkdtemp(join(tmpdir(), 'virt-ovf-bench-rbd-'));
  const local = await scratchPool();
  // The OSD's block file in memory (tmpfs), as the local pool's writes land in the page cache.
  const ceph = await startCeph({ blockDir: '/dev/shm' }).catch(async (err: unknown) => {
    await local.cleanup();
    await rm(work, { recursive: true, force: true });
    throw err;
  });
  log(`Ceph single-node cluster ready in ${fmtS(ceph.startupMs)}`);
  const pool = await rbdPool(ceph);
  try {
    const sizeBytes = Math.round(sizeGiB * 1024) * MiB;
    const app = await buildAppliance({ dir: work, name: 'benchvm', content: 'mixed', diskSizeBytes: sizeBytes, manifest: 'none' });
    log(`bench OVA: ${(sizeBytes / 2 ** 30).toFixed(2)} GiB virtual, mixed content`);
    const times = { localQcow2: [] as number[], localRaw: [] as number[], rbd: [] as number[] };
    await importInto(app.ova!, pool.name, 'warmup');
    for (let i = 0; i < runs; i++) {
      times.rbd.push(await importInto(app.ova!, pool.name, 'rbd'));
      times.localQcow2.push(await importInto(app.ova!, local.name, 'local'));
      times.localRaw.push(await importInto(app.ova!, local.name, 'local-raw', 'raw'));
      log(`run ${i + 1}/${runs}: rbd ${fmtS(times.rbd.at(-1)!)}, local qcow2 ${fmtS(times.localQcow2.at(-1)!)}, local raw ${fmtS(times.localRaw.at(-1)!)}`);
    }
    const m = { rbd: median(times.rbd), localQcow2: median(times.localQcow2), localRaw: median(times.localRaw) };
    const result = {
      sizeBytes,
      runs,
      cephStartupMs: ceph.startupMs,
      medianMs: m,
      ratioVsLocalQcow2: m.rbd / m.localQcow2,
      ratioVsLocalRaw: m.rbd / m.localRaw,
      rbdImportMiBps: sizeBytes / MiB / (m.rbd / 1000),
    };
    process.stderr.write(
      `\nimport into rbd      ${fmtS(m.rbd)}  (${result.rbdImportMiBps.toFixed(0)} MiB/s of virtual disk)\n` +
        `import, local qcow2  ${fmtS(m.localQcow2)}  rbd/local = ${result.ratioVsLocalQcow2.toFixed(2)}x (target <= 1.11x)\n` +
        `import, local raw    ${fmtS(m.localRaw)}  rbd/local raw = ${result.ratioVsLocalRaw.toFixed(2)}x\n`,
    );
    if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  } finally {
    await pool.cleanup();
    await ceph.stop();
    await local.cleanup();
    await rm(work, { recursive: true, force: true });
  }
}

process.exitCode = await main();
