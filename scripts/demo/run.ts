// The demo itself: import an OVA into a fresh embedded driver, boot it, wait for its serial marker,
// then destroy and undefine the guest.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { runImport } from '../../src/commands/import.js';
import { InterruptedError, LibvirtSetupError, UsageError, VirtOvfError } from '../../src/errors.js';
import { Connection, lookupDomainByName, VIR_DOMAIN_UNDEFINE_NVRAM, type Domain } from '../../src/libvirt/index.js';
import { createReporter, type Reporter } from '../../src/report.js';
import { embedUri, lowFdsReserved, qemuConf, RESERVED_FD_COUNT } from './embedded.js';

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
