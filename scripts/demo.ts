// Quick-start demo: imports an OVA into libvirt's EMBEDDED QEMU driver (qemu:///embed?root=DIR, no
// libvirt daemon), boots it under TCG, waits for its serial-console marker, prints the serial
// output, then destroys and undefines the guest.
//
//   node dist/scripts/demo.js --root /abs/dir [--ova example/tinyvm.ova] [--marker TEXT] [--timeout S]
//
// The embedded driver lives inside this process, so importing and booting happen here, through
// virt-ovf's own runImport() (with user-mode NICs: the embedded driver has no network driver)
// and libvirt binding. Starting QEMU from inside Node needs a fork-safe file-descriptor layout
// (libuv's fork handler vs. libvirt's daemonizing exec): see lowFdsReserved.

import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readlinkSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { runImport } from '../src/commands/import.js';
import { InterruptedError, LibvirtSetupError, UsageError, VirtOvfError } from '../src/errors.js';
import {
  Connection,
  lookupDomainByName,
  VIR_DOMAIN_UNDEFINE_NVRAM,
  type Domain,
} from '../src/libvirt/index.js';
import { createReporter, type Reporter } from '../src/report.js';
import { DEFAULT_MARKER } from './appliance.js';

const USAGE = `usage: node dist/scripts/demo.js --root DIR [--ova FILE] [--marker TEXT] [--timeout SECONDS]

  --root DIR        root directory of the embedded libvirt driver (created; must be empty or absent)
  --ova FILE        appliance to import (default ./example/tinyvm.ova)
  --marker TEXT     text the guest prints on its serial console (default ${DEFAULT_MARKER})
  --timeout SECONDS how long to wait for the marker after the start (default 30)
`;

/** File descriptors 3 .. 3+RESERVED_FD_COUNT-1 must be /dev/null for libvirt's exec of QEMU to work (see lowFdsReserved). */
export const RESERVED_FD_COUNT = 16;
/** Set in the environment of the re-launched process. */
const CHILD_ENV = 'VIRT_OVF_DEMO_CHILD';
/** How often the serial log is polled for the marker, in milliseconds. */
const POLL_MS = 100;

/** Where the demo writes: progress to `err`, the serial output and the summary to `out`. */
export interface DemoIo {
  readonly out: NodeJS.WritableStream;
  readonly err: NodeJS.WritableStream;
}

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** The OVA (or .ovf, or directory) to import. */
  readonly ova: string;
  /** Root directory of the embedded driver; made absolute; must be absent or empty. */
  readonly root: string;
  /** Text the guest prints on its serial console. */
  readonly marker: string;
  /** How long to wait for the marker after the start, in milliseconds. */
  readonly timeoutMs: number;
  readonly io: DemoIo;
}

/** What {@link runDemo} did. Durations in milliseconds. */
export interface DemoResult {
  readonly uri: string;
  readonly domain: string;
  /** Everything the guest wrote on its serial console until the marker appeared. */
  readonly serial: string;
  readonly serialLog: string;
  readonly importMs: number;
  /** From the start call until the marker appeared in the serial log. */
  readonly bootMs: number;
  readonly totalMs: number;
}

/** `qemu:///embed?root=ROOT`, with ROOT percent-encoded segment by segment. */
export function embedUri(root: string): string {
  return `qemu:///embed?root=${root.split('/').map(encodeURIComponent).join('/')}`;
}

/**
 * True when fds 3 .. 3+RESERVED_FD_COUNT-1 are all /dev/null, i.e. the process was started
 * with them held open, so that libuv's own descriptors sit above them.
 *
 * WHY: libuv registers a pthread_atfork child handler that closes and re-creates its signal
 * lock pipe (at fds 4/5 in a normal Node process). libvirt starts QEMU through a double fork
 * (virExec with a pid file): the middle child closes every descriptor, opens its sync pipe at
 * the lowest free numbers (4/5 again), forks again, and the handler in the grandchild closes
 * that sync pipe. The start then fails with "Unable to notify child process: Bad file
 * descriptor" in the domain log and "Child process (...) unexpected exit status 1". Holding
 * the low fds in the parent moves libuv's pipe out of the range the middle child reuses.
 */
export function lowFdsReserved(): boolean {
  for (let fd = 3; fd < 3 + RESERVED_FD_COUNT; fd++) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) !== '/dev/null') return false;
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * The qemu.conf of the embedded driver: QEMU's log and the serial log go to files (no virtlogd),
 * and QEMU runs as this process's user rather than Debian's libvirt-qemu.
 */
function qemuConf(): string {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  return `# Written by virt-ovf scripts/demo.ts.
# Without this the embedded driver sends QEMU's stderr and <serial><log> through the system
# virtlogd (/run/libvirt/virtlogd-sock), i.e. a running daemon.
stdio_handler = "file"
# As root the embedded driver would run QEMU as libvirt-qemu (uid 64055), which cannot reach
# images below a private directory such as /root or a mkdtemp() directory; run it as the user
# of this process, like the rest of the embedded driver.
user = "+${uid}"
group = "+${gid}"
# Do not record the images' original owners in extended attributes (nothing to restore here;
# it only causes "Invalid XATTR timestamp" warnings on some hosts).
remember_owner = 0
`;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolveSleep, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolveSleep();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'latin1');
  } catch {
    return '';
  }
}

/** Polls `log` until it holds `marker`; throws when the guest stops or `timeoutMs` passes. */
async function waitForMarker(log: string, marker: string, timeoutMs: number, domain: Domain, signal: AbortSignal): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await readText(log);
    if (text.includes(marker)) return text;
    if (!domain.isActive()) throw new VirtOvfError(`the guest stopped before printing "${marker}"; serial output so far: ${JSON.stringify(text)}`);
    if (Date.now() >= deadline) throw new VirtOvfError(`no "${marker}" on the serial console within ${timeoutMs / 1000} s; serial output so far: ${JSON.stringify(text)}`);
    await sleep(POLL_MS, signal);
  }
}

/**
 * Imports `opts.ova` into a fresh embedded driver under `opts.root`, boots it, waits for the
 * marker, prints the serial output, destroys and undefines the guest (also on failure and on
 * SIGINT/SIGTERM). The disk, domain XML and serial log stay under `opts.root` for inspection.
 * Must run in a process where {@link lowFdsReserved} holds (see {@link main}).
 */
export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const t0 = Date.now();
  if (!lowFdsReserved()) {
    throw new LibvirtSetupError(`this process was not started with fds 3-${2 + RESERVED_FD_COUNT} on /dev/null; libvirt cannot start QEMU from it (run it through main())`);
  }
  const root = resolve(opts.root);
  if (existsSync(root) && (await readdir(root)).length > 0) {
    throw new UsageError(`${root} is not empty (state of an earlier run?); remove it or choose another --root`);
  }
  const imagesDir = join(root, 'images');
  const serialLog = join(root, 'serial.log');
  await mkdir(join(root, 'etc'), { recursive: true });
  await mkdir(imagesDir, { recursive: true });
  await writeFile(join(root, 'etc', 'qemu.conf'), qemuConf());
  const uri = embedUri(root);
  const reporter: Reporter = createReporter({ out: opts.io.out, err: opts.io.err, tty: false });
  // libvirt's own warnings (e.g. that QEMU runs with "high-privileges" as root, see qemuConf) go
  // to stderr by default; send them to ROOT/libvirt.log unless the user chose an output. This
  // takes effect only when libvirt is not initialised yet in this process (it reads the variable
  // once); an output spec cannot hold whitespace.
  if (!process.env['LIBVIRT_LOG_OUTPUTS'] && !/\s/.test(root)) process.env['LIBVIRT_LOG_OUTPUTS'] = `3:file:${join(root, 'libvirt.log')}`;
  // The embedded driver has no network driver: NICs use QEMU user-mode networking (--user-net).

  reporter.emit({ kind: 'stage', message: `Importing ${opts.ova} into ${uri}` });
  const imported = await runImport(
    {
      source: opts.ova,
      connect: uri,
      outputDir: imagesDir,
      virtType: 'qemu',
      start: false,
      verify: true,
      pool: 'default',
      profile: 'faithful',
      userNetwork: true,
      serialLog,
    },
    reporter,
  );
  const importMs = Date.now() - t0;

  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => controller.abort(new InterruptedError(sig));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const conn = Connection.open(uri);
  let domain: Domain | null = null;
  try {
    domain = lookupDomainByName(conn, imported.domain);
    if (!domain) throw new LibvirtSetupError(`domain ${imported.domain} vanished after the import`);
    controller.signal.throwIfAborted();
    reporter.emit({ kind: 'stage', message: `Starting ${imported.domain} (TCG, no KVM); waiting up to ${opts.timeoutMs / 1000} s for "${opts.marker}" on its serial console` });
    const started = Date.now();
    await domain.start();
    const serial = await waitForMarker(serialLog, opts.marker, opts.timeoutMs, domain, controller.signal);
    const bootMs = Date.now() - started;
    reporter.emit({ kind: 'stage', message: `Marker found ${(bootMs / 1000).toFixed(1)} s after the start` });
    opts.io.out.write(`----- serial console of ${imported.domain} (${serialLog}) -----\n${serial.replace(/\r\n/g, '\n')}${serial.endsWith('\n') ? '' : '\n'}----- end of serial console -----\n`);
    return { uri, domain: imported.domain, serial, serialLog, importMs, bootMs, totalMs: Date.now() - t0 };
  } finally {
    if (domain) {
      reporter.emit({ kind: 'stage', message: `Stopping and undefining ${imported.domain}` });
      try {
        if (domain.isActive()) await domain.destroy();
      } catch (err) {
        reporter.emit({ kind: 'warning', message: `could not stop ${imported.domain}: ${(err as Error).message}` });
      }
      try {
        await domain.undefine(VIR_DOMAIN_UNDEFINE_NVRAM);
      } catch (err) {
        reporter.emit({ kind: 'warning', message: `could not undefine ${imported.domain}: ${(err as Error).message}` });
      }
    }
    conn.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * Runs this script again with fds 3..3+RESERVED_FD_COUNT-1 on /dev/null (see lowFdsReserved),
 * copies its output to `io`, forwards SIGINT/SIGTERM, and returns its exit code.
 */
async function relaunch(argv: string[], io: DemoIo): Promise<number> {
  const devNull = openSync('/dev/null', 'r');
  try {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...argv], {
      stdio: ['ignore', 'pipe', 'pipe', ...Array<number>(RESERVED_FD_COUNT).fill(devNull)],
      env: { ...process.env, [CHILD_ENV]: '1' },
    });
    child.stdout?.on('data', (chunk: Buffer) => io.out.write(chunk));
    child.stderr?.on('data', (chunk: Buffer) => io.err.write(chunk));
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    try {
      return await new Promise<number>((resolveExit, reject) => {
        child.on('error', reject);
        child.on('close', (code, signal) => resolveExit(code ?? (signal ? 128 + (signal === 'SIGINT' ? 2 : 15) : 1)));
      });
    } finally {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
    }
  } finally {
    closeSync(devNull);
  }
}

/**
 * CLI entry; returns the exit code (0: the marker appeared; otherwise virt-ovf's exit codes).
 * The work runs in a child process started with a fork-safe fd layout unless this process
 * already has one.
 */
export async function main(argv: string[], io: DemoIo = { out: process.stdout, err: process.stderr }): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        root: { type: 'string' },
        ova: { type: 'string', default: './example/tinyvm.ova' },
        marker: { type: 'string', default: DEFAULT_MARKER },
        timeout: { type: 'string', default: '30' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    io.err.write(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out.write(USAGE);
    return 0;
  }
  const timeoutS = Number(values.timeout);
  if (values.root === undefined || values.root === '' || !(timeoutS > 0) || values.marker === '') {
    io.err.write(`${values.root ? '--timeout must be a positive number of seconds' : '--root is required'}\n${USAGE}`);
    return 2;
  }
  if (!lowFdsReserved()) {
    if (process.env[CHILD_ENV] === '1') {
      io.err.write(`demo: error: started with ${CHILD_ENV}=1 but fds 3-${2 + RESERVED_FD_COUNT} are not all /dev/null\n`);
      return 1;
    }
    return relaunch(argv, io);
  }
  try {
    const result = await runDemo({ ova: values.ova, root: values.root, marker: values.marker, timeoutMs: timeoutS * 1000, io });
    io.out.write(`Demo OK: imported ${result.domain} in ${(result.importMs / 1000).toFixed(1)} s, marker after ${(result.bootMs / 1000).toFixed(1)} s, ${(result.totalMs / 1000).toFixed(1)} s in all (${result.uri})\n`);
    return 0;
  } catch (err) {
    io.err.write(`demo: error: ${(err as Error).message}\n`);
    return err instanceof VirtOvfError ? err.exitCode : 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
