// Shared scene of the one-pass import tests: the boot appliance packed every way a package can be
// read in one pass, and the CLI run with the package piped into its standard input.
import { execa } from 'execa';
import { createReadStream } from 'node:fs';
import { writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { buildAppliance, type ApplianceResult } from '../../scripts/appliance.js';
import { CLI } from '../commands/helpers.js';
import { TEST_URI } from '../libvirt/harness.js';

/** The appliance's files and its OVA packed as tar.gz, tar.xz, tar.zst and zip (OVF, manifest, disk, in that order). */
export interface Packed {
  readonly app: ApplianceResult;
  readonly tar: string;
  readonly gzip: string;
  readonly xz: string;
  readonly zstd: string;
  readonly zip: string;
}

/** Builds the boot appliance in `dir` and packs it every way. */
export async function packAppliance(dir: string, opts: { marker?: string } = {}): Promise<Packed> {
  const app = await buildAppliance({ dir, name: 'appliance', manifest: 'sha256', ...(opts.marker ? { marker: opts.marker } : {}) });
  const tar = app.ova!;
  const gzip = join(dir, 'appliance.ova.gz');
  await writeFile(gzip, gzipSync(await readFile(tar)));
  const xz = join(dir, 'appliance.ova.xz');
  await execa('xz', ['-kc', tar], { stdout: { file: xz } });
  const zstd = join(dir, 'appliance.ova.zst');
  await execa('zstd', ['-qc', tar], { stdout: { file: zstd } });
  const zip = join(dir, 'appliance.zip');
  await execa('zip', ['-q', '-X', zip, 'appliance.ovf', 'appliance.mf', 'appliance-disk1.vmdk'], { cwd: dir });
  return { app, tar, gzip, xz, zstd, zip };
}

/** Result of one CLI run. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `virt-ovf ARGS` with `file` piped into its standard input (a pipe, not a redirected file:
 * the one-pass path sees no size); `onStderr` sees stderr as it comes (to interrupt the run).
 */
export async function runPiped(args: string[], file: string, opts: { env?: Record<string, string>; onStderr?: (text: string, child: { kill(signal: NodeJS.Signals): void }) => void; feed?: (stdin: NodeJS.WritableStream) => Promise<void> } = {}): Promise<CliRun> {
  const child = execa('node', [CLI, ...args], { reject: false, env: { LIBVIRT_DEFAULT_URI: TEST_URI, ...opts.env }, stdin: 'pipe' });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    opts.onStderr?.(stderr, child);
  });
  const feeding = (opts.feed ? opts.feed(child.stdin!) : pipeline(createReadStream(file), child.stdin!)).catch(() => undefined);
  const r = await child;
  await feeding;
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** True when `qemu-img compare` finds the volume's guest bytes equal to the raw disk's. */
export async function sameContent(rawDisk: string, volume: string): Promise<boolean> {
  const r = await execa('qemu-img', ['compare', '-q', '-f', 'raw', rawDisk, volume], { reject: false });
  return r.exitCode === 0;
}
