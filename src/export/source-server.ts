// One qemu-storage-daemon per exported disk: it opens the disk as the guest sees it (the view of
// source-qemu.ts: format, protocol, backing chain), holds QEMU's image locks for the whole export
// and serves the guest bytes read-only over NBD on a Unix socket, so every reader (qemu-img,
// the VMDK writer) reads the same bytes through one opening of the disk.
//
// The locks: a read-only NBD export shares the write permission (any QEMU may still open the
// image read-write), so the export sits on a copy-before-write filter (QEMU 6.2+), whose source
// child takes the image's "no other writer" lock as a running QEMU would. A domain started
// meanwhile then fails with QEMU's 'Failed to get "write" lock'. Its target is a null-co node
// nothing is ever copied to (the export is read-only).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ToolError } from '../errors.js';
import { diesWithParent, trackChild } from '../journal/children.js';
import { makeTempDir } from '../journal/tracked.js';
import type { SecretObject } from '../transfer/secret-file.js';
import { SourceProblem, type DiskView } from './source-qemu.js';

const QSD = process.env['VIRT_OVF_QEMU_STORAGE_DAEMON'] ?? 'qemu-storage-daemon';
/** How long qemu-storage-daemon may take to open the disk and listen, in milliseconds. */
const START_TIMEOUT_MS = 30_000;
/** The warning QEMU prints for a copy-before-write target without a cluster size (harmless here: nothing is copied). */
const CBW_TARGET_WARNING = /warning: The target block device doesn't provide information about the block size/;

/** A disk view served over NBD until close(). */
export interface ServedView {
  /** Unix socket of the NBD server; its default export ("") is the guest's disk. */
  readonly socket: string;
  /** The json: pseudo-filename qemu-img opens with `-f raw` to read the guest bytes over NBD. */
  readonly filename: string;
  /** QEMU's image locks keep writers out (false on a QEMU without the copy-before-write filter). */
  readonly locks: boolean;
  /** Stops qemu-storage-daemon (releasing the locks) and removes the socket directory. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * The qemu-storage-daemon arguments serving `view` at `socket` (on the locking filter if `hold`),
 * writing `pidFile` once everything is open; `objects` (secret objects the view's nodes name) come first.
 */
export function daemonArgs(view: DiskView, socket: string, pidFile: string, hold = true, objects: readonly string[] = []): string[] {
  const json = (o: object): string => JSON.stringify(o);
  const filter = ['--blockdev', json({ driver: 'null-co', 'node-name': 'sink', size: 0 }), '--blockdev', json({ driver: 'copy-before-write', 'node-name': 'hold', file: 'view', target: 'sink' })];
  return [
    ...objects.flatMap((o) => ['--object', o]),
    '--blockdev', json({ ...view.node, 'node-name': 'view', 'read-only': true }),
    ...(hold ? filter : []),
    '--nbd-server', json({ addr: { type: 'unix', path: socket } }),
    '--export', json({ type: 'nbd', id: 'guest', 'node-name': hold ? 'hold' : 'view', name: '', writable: false }),
    '--pidfile', pidFile,
  ];
}

/** Resolves once `child` has exited, or after `timeoutMs` at most. */
function exited(child: ChildProcess, timeoutMs?: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = timeoutMs === undefined ? undefined : setTimeout(resolve, timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** qemu-storage-daemon's complaint without its option prefix and harmless warnings: what QEMU says about the disk. */
export function daemonMessage(stderr: string): string {
  return stderr
    .split('\n')
    .filter((l) => l.trim() !== '' && !CBW_TARGET_WARNING.test(l))
    .map((l) => l.replace(/^qemu-storage-daemon: (?:--[a-z-]+ (?:\{.*\}|\S+): )?/, '').replace(/^qemu: /, ''))
    .join('; ');
}

/**
 * Opens `view` in a qemu-storage-daemon and serves it read-only over NBD on a Unix socket in a
 * fresh private directory, holding QEMU's image locks (no other writer) until close(); on a
 * QEMU older than 6.2 (no copy-before-write filter) without them (`locks` false).
 * @throws SourceProblem when QEMU cannot open the disk (its message), or the image is in use by
 *   a writer (a running domain); ToolError when qemu-storage-daemon is missing or does not start
 *   in time; the signal's reason when aborted (the daemon is stopped).
 */
export async function serveView(view: DiskView, signal?: AbortSignal, openSecrets?: OpenSecrets): Promise<ServedView> {
  return startDaemon(view, true, signal, openSecrets).catch((err: unknown) => {
    if (err instanceof SourceProblem && /Unknown driver 'copy-before-write'/.test(err.message)) return startDaemon(view, false, signal, openSecrets);
    throw err;
  });
}

/**
 * Makes the QEMU secret objects a view's nodes name (transfer/secret-file.ts: each reads a 0600
 * file); qemu-storage-daemon reads them when it starts and they are released once it has.
 */
export type OpenSecrets = (secrets: DiskView['secrets']) => Promise<SecretObject[]>;

/** serveView, on the locking filter or not (`hold`). */
async function startDaemon(view: DiskView, hold: boolean, signal?: AbortSignal, openSecrets?: OpenSecrets): Promise<ServedView> {
  if (view.secrets.length > 0 && !openSecrets) throw new SourceProblem('it needs a libvirt secret, and no connection was given to read it');
  const secrets = view.secrets.length > 0 ? await openSecrets!(view.secrets) : [];
  try {
    return await startWith(view, hold, secrets.map((s) => s.object), signal);
  } finally {
    // Read by qemu-storage-daemon when it parsed --object, before it wrote its pid file; or it failed.
    await Promise.all(secrets.map((s) => s.release()));
  }
}

/** startDaemon with the secret objects made. */
async function startWith(view: DiskView, hold: boolean, objects: readonly string[], signal?: AbortSignal): Promise<ServedView> {
  // A Unix socket path holds at most 107 bytes: fall back to /tmp under a long $TMPDIR.
  const tracked = await makeTempDir(tmpdir().length > 70 ? '/tmp' : tmpdir(), 'virt-ovf-disk-');
  const dir = tracked.dir;
  const socket = join(dir, 'nbd.sock');
  const pidFile = join(dir, 'pid');
  const args = daemonArgs(view, socket, pidFile, hold, objects);
  const run = diesWithParent(QSD, args);
  const child = spawn(run.file, run.args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const untrack = trackChild(child.pid, `${QSD} ${args.join(' ')}`);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    if (stderr.length < 8192) stderr += s;
  });
  let spawnError: NodeJS.ErrnoException | undefined;
  child.once('error', (err) => (spawnError = err));
  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.kill('SIGTERM');
      await exited(child);
      clearTimeout(timer);
    }
    untrack();
    await tracked.release();
  };
  try {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!existsSync(pidFile)) {
      signal?.throwIfAborted();
      const command = `${QSD} ${args.join(' ')}`;
      if (spawnError) throw new ToolError(spawnError.code === 'ENOENT' ? 'qemu-storage-daemon not found: install it (Debian: qemu-system-common; Fedora: qemu-storage-daemon)' : `qemu-storage-daemon failed to start: ${spawnError.message}`, { command, cause: spawnError });
      if (child.exitCode !== null || child.signalCode !== null) {
        await exited(child, 1000);
        const said = daemonMessage(stderr) || `exit ${child.exitCode ?? child.signalCode}`;
        if (/setpriv: failed to execute/.test(said)) throw new ToolError('qemu-storage-daemon not found: install it (Debian: qemu-system-common; Fedora: qemu-storage-daemon)', { command, stderr });
        throw new SourceProblem(/Failed to get .*lock/.test(said) ? `it is in use by another process (a running domain?): ${said}` : `QEMU cannot open it: ${said}`);
      }
      if (Date.now() > deadline) throw new ToolError(`qemu-storage-daemon did not open ${view.path} within ${START_TIMEOUT_MS / 1000} s`, { command, stderr });
      await sleep(10);
    }
  } catch (err) {
    await close();
    throw err;
  }
  let closed: Promise<void> | undefined;
  return {
    socket,
    locks: hold,
    filename: `json:${JSON.stringify({ file: { driver: 'nbd', server: { type: 'unix', path: socket }, export: '' } })}`,
    close: () => (closed ??= close()),
  };
}
