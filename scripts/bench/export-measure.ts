// Measures one command of the export benchmark: wall time, peak RSS and bytes written to storage.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

const GNU_TIME = '/usr/bin/time';

/** What one measured command did. Sizes in bytes. */
export interface Measured {
  wallMs: number;
  peakRssBytes: number | undefined;
  /** Bytes the process tree wrote to storage (rusage block outputs x 512, or /proc write_bytes). */
  storageWriteBytes: number | undefined;
  stdout: string;
}

/** A field of /proc/PID/FILE (`VmHWM:  123 kB` or `write_bytes: 123`), in bytes, or 0. */
async function procField(pid: number, file: 'status' | 'io', field: string): Promise<number> {
  const m = new RegExp(`^${field}:\\s+(\\d+)( kB)?`, 'm').exec(await readFile(`/proc/${pid}/${file}`, 'utf8').catch(() => ''));
  return m ? Number(m[1]) * (m[2] ? 1024 : 1) : 0;
}

/**
 * Runs `cmd args` and measures wall time, peak RSS and bytes written to storage: GNU time's
 * %M (max RSS of the process and the children it waited for) and %O (block outputs, 512 bytes
 * each, summed over them) when /usr/bin/time exists, else /proc samples every 50 ms.
 */
export async function measure(cmd: string, args: string[], dir: string): Promise<Measured> {
  const timeFile = join(dir, 'time.txt');
  const useTime = existsSync(GNU_TIME);
  let sampledRss = 0;
  let sampledWrites = 0;
  const t0 = process.hrtime.bigint();
  const child = useTime ? spawn(GNU_TIME, ['-f', '%M %O', '-o', timeFile, cmd, ...args]) : spawn(cmd, args);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const timer = setInterval(() => {
    if (useTime || !child.pid) return;
    const pid = child.pid;
    void procField(pid, 'status', 'VmHWM').then((v) => (sampledRss = Math.max(sampledRss, v)));
    void procField(pid, 'io', 'write_bytes').then((v) => (sampledWrites = Math.max(sampledWrites, v)));
  }, 50);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearInterval(timer);
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${code}): ${stderr.trim()}`);
  if (!useTime) return { wallMs, peakRssBytes: sampledRss || undefined, storageWriteBytes: sampledWrites || undefined, stdout };
  const [rssKb, blocks] = (await readFile(timeFile, 'utf8')).trim().split('\n').pop()!.split(' ').map(Number) as [number, number];
  return { wallMs, peakRssBytes: rssKb * 1024, storageWriteBytes: blocks * 512, stdout };
}

/** Bytes written to storage beyond the output file itself: temporary files (0 is the aim). */
export const extraBytes = (m: Measured, outputBytes: number): number | undefined =>
  m.storageWriteBytes === undefined ? undefined : Math.max(0, m.storageWriteBytes - outputBytes);

/** Runs qemu-img; its stdout (exit 1 is a result for compare). @throws on any other failure. */
export function qemuImg(...args: string[]): string {
  const r = spawnSync('qemu-img', args, { encoding: 'utf8' });
  if (r.status !== 0 && r.status !== 1) throw new Error(`qemu-img ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}
