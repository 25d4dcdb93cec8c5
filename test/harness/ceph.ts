// A throw-away single-node Ceph cluster (scripts/ceph-single-node.sh) and an rbd pool on the system libvirtd that logs into it with a libvirt secret.
import { execa } from 'execa';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection, createPool } from '../../src/libvirt/index.js';
import { destroyTransientPool, found } from './block-pools.js';
import { ensureLibvirtd, TEST_URI, uniqueName } from '../libvirt/harness.js';

const SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../scripts/ceph-single-node.sh');

/** A running cluster: its monitor, the rbd pool and client the tests use, and how to stop it. */
export interface CephCluster {
  readonly dir: string;
  /** ceph.conf of the cluster (for rbd/ceph commands). */
  readonly conf: string;
  readonly monitor: { readonly host: string; readonly port: number };
  /** The Ceph pool (size 1) holding the images. */
  readonly pool: string;
  /** cephx user without `client.`, with the rbd profile on the pool. */
  readonly user: string;
  /** Its key, base64 as Ceph prints it. */
  readonly key: string;
  /** From spawning the script to READY, in milliseconds. */
  readonly startupMs: number;
  /** Stops the daemons and removes the cluster's directory; idempotent, never throws. */
  stop(): Promise<void>;
}

/** A libvirt secret (ceph usage) holding the client's key and a transient rbd pool using it. */
export interface RbdPool {
  readonly name: string;
  readonly secretUuid: string;
  /** Destroys the pool and undefines the secret; idempotent, never throws. */
  cleanup(): Promise<void>;
}

/**
 * Why the Ceph tests cannot run here, or undefined: the daemons and tools (ceph-mon, ceph-mgr,
 * ceph-osd, ceph, rbd), QEMU's rbd driver (qemu-block-extra) and libvirtd's rbd storage backend
 * (libvirt-daemon-driver-storage-rbd, loaded when libvirtd starts).
 */
export async function cephMissing(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'the Ceph harness runs as root';
  for (const tool of ['ceph-mon', 'ceph-mgr', 'ceph-osd', 'ceph', 'rbd', 'monmaptool', 'ceph-authtool']) if (!(await found(tool))) return `${tool} is not installed (scripts/system-packages.sh --ceph)`;
  const help = String((await execa('qemu-img', ['--help'], { reject: false })).stdout);
  if (!/Supported formats:.*\brbd\b/.test(help)) return "QEMU has no rbd driver (install qemu-block-extra)";
  await ensureLibvirtd();
  const caps = String((await execa('virsh', ['-c', TEST_URI, 'pool-capabilities'], { reject: false })).stdout);
  if (!/<pool type='rbd' supported='yes'>/.test(caps)) return "libvirtd has no rbd storage backend (install libvirt-daemon-driver-storage-rbd, then restart libvirtd)";
  return undefined;
}

/** A TCP port nobody listens on right now, on 127.0.0.1. */
async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolvePort(port));
    });
  });
}

/**
 * Starts the cluster in a fresh temporary directory (scripts/ceph-single-node.sh, under
 * `setpriv --pdeathsig KILL`: it dies with this process, and its daemons with it) and waits up
 * to `timeoutMs` (default 180 s) for READY. `blockDir` holds the OSD's sparse block file instead
 * of the cluster directory (/dev/shm for the bench: in memory, as a local pool's writes land in
 * the page cache).
 * @throws Error with the script's output when it fails or does not get ready in time (nothing is left running).
 */
export async function startCeph(opts: { timeoutMs?: number; blockDir?: string } = {}): Promise<CephCluster> {
  const timeoutMs = opts.timeoutMs ?? 180_000;
  const parent = await mkdtemp(join(tmpdir(), 'virt-ovf-ceph-'));
  const dir = join(parent, 'cluster');
  const port = await freePort();
  const started = Date.now();
  const env = { ...process.env, ...(opts.blockDir ? { CEPH_BLOCK_DIR: opts.blockDir } : {}) };
  const child: ChildProcess = spawn('setpriv', ['--pdeathsig', 'KILL', 'bash', SCRIPT, dir, String(port)], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let output = '';
  const collect = (b: Buffer): void => void (output.length < 65536 && (output += b.toString()));
  child.stderr!.on('data', collect);
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(parent, { recursive: true, force: true });
  };
  const keyFile = await new Promise<string>((resolveKey, reject) => {
    const timer = setTimeout(() => reject(new Error(`Ceph was not ready within ${timeoutMs / 1000} s: ${output}`)), timeoutMs);
    child.stdout!.on('data', (b: Buffer) => {
      output += b.toString();
      const m = /^READY (\S+)$/m.exec(output);
      if (m) {
        clearTimeout(timer);
        resolveKey(m[1]!);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`ceph-single-node.sh exited (${code ?? signal}): ${output}`));
    });
  }).catch(async (err: unknown) => {
    await stop();
    throw err;
  });
  const startupMs = Date.now() - started;
  let stopped: Promise<void> | undefined;
  return {
    dir,
    conf: join(dir, 'ceph.conf'),
    monitor: { host: '127.0.0.1', port },
    pool: 'rbd',
    user: 'virtovf',
    key: (await readFile(keyFile, 'utf8')).trim(),
    startupMs,
    stop: () => (stopped ??= stop()),
  };
}

/**
 * Defines a libvirt secret (ceph usage, not private: virt-ovf reads it with virSecretGetValue)
 * holding the cluster's client key, and a transient rbd pool on qemu:///system that logs in
 * with it. Call cleanup() before stopping the cluster.
 */
export async function rbdPool(ceph: CephCluster): Promise<RbdPool> {
  const name = uniqueName('virt-ovf-test-rbd');
  const work = await mkdtemp(join(tmpdir(), `${name}-`));
  const virsh = (...args: string[]) => execa('virsh', ['-c', TEST_URI, ...args]);
  let secretUuid = '';
  const conn = Connection.open(TEST_URI);
  let done = false;
  const cleanup = async (): Promise<void> => {
    if (done) return;
    done = true;
    await destroyTransientPool(conn, name);
    if (secretUuid) await execa('virsh', ['-c', TEST_URI, 'secret-undefine', secretUuid], { reject: false });
    await rm(work, { recursive: true, force: true });
  };
  try {
    await writeFile(join(work, 'secret.xml'), `<secret ephemeral='no' private='no'><usage type='ceph'><name>${name} client.${ceph.user}</name></usage></secret>`);
    secretUuid = /([0-9a-f-]{36})/.exec(String((await virsh('secret-define', join(work, 'secret.xml'))).stdout))![1]!;
    await writeFile(join(work, 'key'), ceph.key, { mode: 0o600 });
    await virsh('secret-set-value', secretUuid, '--file', join(work, 'key'));
    await rm(join(work, 'key'));
    const { host, port } = ceph.monitor;
    const xml = `<pool type='rbd'><name>${name}</name><source><name>${ceph.pool}</name><host name='${host}' port='${port}'/><auth username='${ceph.user}' type='ceph'><secret uuid='${secretUuid}'/></auth></source></pool>`;
    (await createPool(conn, xml)).free();
  } catch (err) {
    await cleanup();
    throw err;
  }
  return { name, secretUuid, cleanup };
}

/** `rbd ARGS` as the cluster's admin. */
export function rbdCommand(ceph: CephCluster, args: readonly string[]) {
  return execa('rbd', ['-c', ceph.conf, '-n', 'client.admin', '-k', join(ceph.dir, 'client.admin.keyring'), ...args]);
}

/** True while the cluster's directory exists (the script removes it when it stops). */
export function cephRunning(ceph: CephCluster): boolean {
  return existsSync(ceph.dir);
}
