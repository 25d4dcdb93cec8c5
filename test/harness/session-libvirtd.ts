// A private libvirtd (+ virtlogd) run as an unprivileged user and reached as qemu:///session, so
// tests can kill, stop and restart "libvirt" without touching the system daemon.
import { spawn, type ChildProcess } from 'node:child_process';
import { execa } from 'execa';
import { access, chmod, chown, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI } from '../commands/helpers.js';

/** The system user the daemon and the CLI run as (created when missing, home under /var/tmp). */
export const SESSION_USER = 'virtovf-test';
const USER_HOME = '/var/tmp/virtovf-test';

/** One private session daemon and what a test needs to use it. */
export interface SessionDaemon {
  readonly user: string;
  readonly uid: number;
  readonly gid: number;
  /** This instance's directory (owned by the user): XDG dirs, the pool, the packages, TMPDIR. */
  readonly dir: string;
  /** Environment of everything run as the user: HOME, XDG_*, TMPDIR, PATH, LIBVIRT_AUTOSTART=0. */
  readonly env: Record<string, string>;
  readonly uri: 'qemu:///session';
  /** A started dir pool in the user's data directory. */
  readonly pool: { name: string; path: string };
  /** The running libvirtd's pid (changes on restart()). */
  libvirtdPid(): number;
  /** argv that runs `cmd args` as the user with `env` (setpriv; the process is `cmd` itself). */
  asUser(cmd: string, args: readonly string[]): [string, string[]];
  /** argv that runs `virt-ovf args` as the user. */
  cli(args: readonly string[]): [string, string[]];
  /** virsh -c qemu:///session ARGS as the user; never throws. */
  virsh(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Sends `sig` to libvirtd (SIGSTOP, SIGCONT, SIGKILL). */
  signal(sig: NodeJS.Signals): void;
  /** Starts libvirtd again (after a SIGKILL) and waits until it answers. */
  restart(): Promise<void>;
  /** Resumes a stopped libvirtd, or starts a dead one again, and starts the pool (for a test after a failed one). */
  revive(): Promise<void>;
  /** Ends every domain of the daemon, stops both daemons and removes the directory. Never throws. */
  stop(): Promise<void>;
}

async function ensureUser(): Promise<{ uid: number; gid: number }> {
  const id = await execa('id', ['-u', SESSION_USER], { reject: false });
  if (id.exitCode !== 0) {
    await execa('useradd', ['--system', '--user-group', '--home-dir', USER_HOME, '--create-home', '--shell', '/usr/sbin/nologin', SESSION_USER]);
  }
  const uid = Number((await execa('id', ['-u', SESSION_USER])).stdout);
  const gid = Number((await execa('id', ['-g', SESSION_USER])).stdout);
  await mkdir(USER_HOME, { recursive: true });
  await chown(USER_HOME, uid, gid);
  await chmod(USER_HOME, 0o755);
  return { uid, gid };
}

async function which(cmd: string): Promise<boolean> {
  return (await execa('sh', ['-c', `command -v ${cmd}`], { reject: false })).exitCode === 0;
}

/**
 * Starts a private virtlogd and libvirtd as SESSION_USER in a fresh directory, waits until
 * `virsh -c qemu:///session` answers, and starts a dir pool there.
 * @returns the daemon, or the reason the harness cannot run (the caller skips with it).
 */
export async function startSessionDaemon(tag: string): Promise<SessionDaemon | string> {
  if (process.getuid?.() !== 0) return 'needs root to create and switch to the unprivileged test user';
  for (const cmd of ['setpriv', 'libvirtd', 'virtlogd', 'virsh', 'useradd']) {
    if (!(await which(cmd))) return `${cmd} is not installed`;
  }
  const { uid, gid } = await ensureUser();
  const dir = await mkdtemp(join(USER_HOME, `${tag}-`));
  await chmod(dir, 0o755);
  const sub = { run: join(dir, 'run'), config: join(dir, 'config'), cache: join(dir, 'cache'), data: join(dir, 'data'), tmp: join(dir, 'tmp') };
  for (const d of Object.values(sub)) {
    await mkdir(d, { mode: 0o700 });
    await chown(d, uid, gid);
  }
  await chown(dir, uid, gid);
  const env: Record<string, string> = {
    HOME: dir,
    XDG_RUNTIME_DIR: sub.run,
    XDG_CONFIG_HOME: sub.config,
    XDG_CACHE_HOME: sub.cache,
    XDG_DATA_HOME: sub.data,
    TMPDIR: sub.tmp,
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    LIBVIRT_AUTOSTART: '0',
  };
  const asUser = (cmd: string, args: readonly string[]): [string, string[]] => [
    'setpriv',
    ['--reuid', String(uid), '--regid', String(gid), '--init-groups', 'env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), cmd, ...args],
  ];
  const readable = await execa(...asUser('node', ['-e', `require('fs').accessSync(${JSON.stringify(CLI)}, require('fs').constants.R_OK)`]), { reject: false });
  if (readable.exitCode !== 0) {
    await rm(dir, { recursive: true, force: true });
    return `${SESSION_USER} cannot run ${CLI} (make dist/ and node_modules readable): ${readable.stderr.split('\n')[0]}`;
  }
  const children: ChildProcess[] = [];
  const daemon = (cmd: string): ChildProcess => {
    // --pdeathsig: a test runner that dies takes its daemons with it.
    const [file, args] = asUser(cmd, []);
    const child = spawn(file, ['--pdeathsig', 'KILL', ...args], { stdio: 'ignore' });
    children.push(child);
    return child;
  };
  const virsh = async (...args: string[]) => {
    const r = await execa(...asUser('virsh', ['-c', 'qemu:///session', ...args]), { reject: false, timeout: 30_000 });
    return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
  };
  const answers = async (): Promise<boolean> => {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if ((await virsh('version')).code === 0) return true;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    return false;
  };
  daemon('virtlogd');
  let libvirtd = daemon('libvirtd');
  const pool = { name: `${tag}-pool`, path: join(sub.data, 'libvirt', 'images') };
  const stop = async (): Promise<void> => {
    libvirtd.kill('SIGCONT');
    const names = (await virsh('list', '--all', '--name')).stdout.split('\n').filter((n) => n.trim() !== '');
    for (const name of names) {
      await virsh('destroy', name);
      await virsh('undefine', name, '--nvram');
    }
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((resolve) => c.once('exit', resolve)) : undefined)));
    await killStragglers(dir);
    await rm(dir, { recursive: true, force: true });
  };
  if (!(await answers())) {
    await stop();
    return `the private libvirtd did not answer on qemu:///session within 20 s`;
  }
  for (const args of [['pool-define-as', pool.name, 'dir', '--target', pool.path], ['pool-build', pool.name], ['pool-start', pool.name]]) {
    const r = await virsh(...args);
    if (r.code !== 0) {
      await stop();
      return `cannot create the session pool: ${r.stderr.trim()}`;
    }
  }
  return {
    user: SESSION_USER,
    uid,
    gid,
    dir,
    env,
    uri: 'qemu:///session',
    pool,
    libvirtdPid: () => libvirtd.pid!,
    asUser,
    cli: (args) => asUser('node', [CLI, ...args]),
    virsh,
    signal: (sig) => libvirtd.kill(sig),
    restart: async () => {
      libvirtd = daemon('libvirtd');
      if (!(await answers())) throw new Error('the private libvirtd did not come back');
    },
    revive: async () => {
      if (libvirtd.exitCode !== null || libvirtd.signalCode !== null) {
        libvirtd = daemon('libvirtd');
        if (!(await answers())) throw new Error('the private libvirtd did not come back');
      } else libvirtd.kill('SIGCONT');
      await virsh('pool-start', pool.name);
      await virsh('pool-refresh', pool.name);
    },
    stop,
  };
}

/** Processes (qemu of a session domain, a qemu-img) whose command line names `dir`: killed by pid. */
async function killStragglers(dir: string): Promise<void> {
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(dir)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
}

/** True when `path` exists. */
export async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
