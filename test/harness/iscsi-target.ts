// A userspace iSCSI target for the tests: tgtd(8) (package tgt) on a free loopback port with its own
// control port, one target whose LUNs are sparse files in a private directory, optional CHAP.
import { spawn, type ChildProcess } from 'node:child_process';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, which } from './remote-libvirtd.js';

/** One LUN of the target: its number, backing file (written by tgtd's rdwr backing store) and size in bytes. */
export interface IscsiLun {
  readonly lun: number;
  readonly path: string;
  readonly sizeBytes: number;
}

/** A running target and what a test needs to reach it. */
export interface IscsiTarget {
  readonly host: string;
  /** The iSCSI portal's TCP port on `host`. */
  readonly port: number;
  /** The target IQN. */
  readonly iqn: string;
  /** LUN 1, 2, ... in the order of the sizes given (LUN 0 is tgtd's controller). */
  readonly luns: readonly IscsiLun[];
  /** The CHAP account bound to the target, when asked for. */
  readonly chap?: { readonly user: string; readonly password: string };
  /** The private directory holding the backing files; removed by stop(). */
  readonly dir: string;
  /** iscsi://HOST:PORT/IQN/LUN (no CHAP: QEMU and libiscsi URL syntax). */
  url(lun: number): string;
  /** Kills tgtd, removes its control socket files and `dir`. Never throws. */
  stop(): Promise<void>;
}

const SOCKET_DIR = '/var/run/tgtd';

/** Why the harness cannot run here, or undefined. */
export async function iscsiTargetMissing(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'tgtd needs root';
  for (const cmd of ['tgtd', 'tgtadm', 'setpriv']) if (!(await which(cmd))) return `${cmd} is not installed (Debian: apt-get install tgt)`;
  return undefined;
}

/** Runs tgtadm against control port `control`; rejects with its message. */
async function tgtadm(control: number, args: readonly string[]): Promise<void> {
  const r = await execa('tgtadm', ['-C', String(control), ...args], { reject: false });
  if (r.exitCode !== 0) throw new Error(`tgtadm ${args.join(' ')}: ${String(r.stderr).trim() || `exit ${r.exitCode}`}`);
}

/** Starts tgtd on a control port nobody holds (its lock file is absent); resolves once tgtadm reaches it. */
async function startTgtd(portal: string): Promise<{ child: ChildProcess; control: number; log: () => string } | string> {
  let why = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    // tgtd takes control ports up to 32767 only.
    const control = 1_000 + Math.floor(Math.random() * 31_000);
    if (existsSync(join(SOCKET_DIR, `socket.${control}.lock`))) continue;
    // setpriv --pdeathsig: a test runner that dies takes tgtd with it.
    const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', 'tgtd', '-f', '-C', String(control), '--iscsi', `portal=${portal}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
      if ((await execa('tgtadm', ['-C', String(control), '--op', 'show', '--mode', 'sys'], { reject: false })).exitCode === 0) return { child, control, log: () => out };
      await new Promise((ok) => setTimeout(ok, 100));
    }
    child.kill('SIGKILL');
    why = `tgtd did not start (control port ${control}): ${out.trim() || 'no answer within 10 s'}`;
  }
  return why;
}

/**
 * Starts tgtd listening only on 127.0.0.1 (a free port) with target `iqn` and one LUN per size
 * in `lunSizes` (bytes, sparse backing files), open to every initiator; with `chap`, a CHAP
 * account (incoming user) bound to the target, so a login without it is refused.
 * @returns the target, or the reason tgtd cannot run here (the caller skips with it).
 */
export async function startIscsiTarget(opts: { lunSizes: readonly number[]; iqn?: string; chap?: { user: string; password: string } }): Promise<IscsiTarget | string> {
  const missing = await iscsiTargetMissing();
  if (missing) return missing;
  const host = '127.0.0.1';
  const port = await freePort();
  const iqn = opts.iqn ?? `iqn.2026-12.test.virt-ovf:target-${process.pid}-${port}`;
  const dir = await mkdtemp(join(tmpdir(), 'virt-ovf-iscsi-'));
  const started = await startTgtd(`${host}:${port}`);
  if (typeof started === 'string') {
    await rm(dir, { recursive: true, force: true });
    return started;
  }
  const { child, control } = started;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((ok) => child.once('exit', ok));
      child.kill('SIGKILL');
      await gone;
    }
    for (const f of [`socket.${control}`, `socket.${control}.lock`]) await rm(join(SOCKET_DIR, f), { force: true }).catch(() => undefined);
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  };
  try {
    const lld = ['--lld', 'iscsi'];
    await tgtadm(control, [...lld, '--op', 'new', '--mode', 'target', '--tid', '1', '-T', iqn]);
    const luns: IscsiLun[] = [];
    for (const [i, sizeBytes] of opts.lunSizes.entries()) {
      const path = join(dir, `lun-${i + 1}.img`);
      await writeFile(path, '');
      await truncate(path, sizeBytes);
      await tgtadm(control, [...lld, '--op', 'new', '--mode', 'logicalunit', '--tid', '1', '--lun', String(i + 1), '-b', path]);
      luns.push({ lun: i + 1, path, sizeBytes });
    }
    await tgtadm(control, [...lld, '--op', 'bind', '--mode', 'target', '--tid', '1', '-I', 'ALL']);
    if (opts.chap) {
      await tgtadm(control, [...lld, '--op', 'new', '--mode', 'account', '--user', opts.chap.user, '--password', opts.chap.password]);
      await tgtadm(control, [...lld, '--op', 'bind', '--mode', 'account', '--tid', '1', '--user', opts.chap.user]);
    }
    return { host, port, iqn, luns, ...(opts.chap ? { chap: opts.chap } : {}), dir, url: (lun) => `iscsi://${host}:${port}/${iqn}/${lun}`, stop };
  } catch (err) {
    await stop();
    return `cannot set up the iSCSI target: ${(err as Error).message}; tgtd said: ${started.log().trim()}`;
  }
}
