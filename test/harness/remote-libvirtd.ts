// A "remote" libvirt host for the tests: a second libvirtd in its own mount and PID namespace
// (scripts/remote-libvirtd.sh), reached over qemu+tcp on loopback and over qemu+ssh through a private sshd.
import { spawn, type ChildProcess } from 'node:child_process';
import { execa } from 'execa';
import { chmod, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../scripts/remote-libvirtd.sh');
const DRIVER_DIR = '/usr/lib/x86_64-linux-gnu/libvirt/connection-driver';
/** The drivers the remote daemon loads (LIBVIRT_DRIVER_DIR holds links to these only). */
const DRIVERS = ['qemu', 'storage', 'secret'];

/** A started dir pool of the remote host; `path` exists only inside its namespace (or, for `shadow`, is another directory here). */
export interface RemotePool {
  readonly name: string;
  readonly path: string;
}

/** The remote host and what a test needs to reach it. */
export interface RemoteHost {
  /** qemu+tcp://127.0.0.1:PORT/system (auth none, loopback only). */
  readonly tcpUri: string;
  /** qemu+ssh://root@127.0.0.1:PORT/system?… through the private sshd (undefined when started without ssh). */
  readonly sshUri?: string;
  /** Dir pools: `images` (path only in the namespace), `shadow` (its path also exists on this host, as another directory). */
  readonly pools: { readonly images: RemotePool; readonly shadow: RemotePool };
  /** This host's work directory (keys, configs, logs); removed by stop(). */
  readonly dir: string;
  /** virsh -c tcpUri ARGS; never throws. */
  virsh(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Runs `cmd args` inside the namespace (nsenter into its mount and PID namespaces); never throws. */
  inside(cmd: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Kills everything in the namespace (its mounts go with it) and removes `dir`. Never throws. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (bound and released: the daemon binds it right after). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as { port: number }).port;
  await new Promise((ok) => server.close(ok));
  return port;
}

/** True when `cmd` is on $PATH. */
export async function which(cmd: string): Promise<boolean> {
  return (await execa('sh', ['-c', `command -v ${cmd}`], { reject: false })).exitCode === 0;
}

/** Why the harness cannot run here, or undefined. */
async function unavailable(ssh: boolean): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root for mount and PID namespaces (unshare)';
  for (const cmd of ['unshare', 'nsenter', 'setpriv', 'libvirtd', 'virtlogd', 'virsh', ...(ssh ? ['sshd', 'ssh', 'ssh-keygen', 'virt-ssh-helper'] : [])]) {
    if (!(await which(cmd))) return `${cmd} is not installed`;
  }
  const probe = await execa('unshare', ['--mount', '--pid', '--fork', '--mount-proc', 'true'], { reject: false });
  if (probe.exitCode !== 0) return `unshare --mount --pid cannot run here: ${String(probe.stderr).trim()}`;
  return undefined;
}

/** Writes the sshd config, its host key, the test's key pair and the client's ssh wrapper; returns the qemu+ssh URI. */
async function prepareSsh(dir: string, port: number): Promise<string> {
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'id_ed25519')]);
  const { readFile } = await import('node:fs/promises');
  await writeFile(join(dir, 'authorized_keys'), await readFile(join(dir, 'id_ed25519.pub')), { mode: 0o600 });
  await writeFile(
    join(dir, 'sshd_config'),
    [`Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'host_key')}`, `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'UsePAM no', 'StrictModes no',
      'PidFile /run/sshd.pid', 'PrintMotd no', ''].join('\n'),
  );
  // The client side: no known_hosts written anywhere, only the test's key.
  await writeFile(
    join(dir, 'ssh_config'),
    ['Host *', '  UserKnownHostsFile /dev/null', '  GlobalKnownHostsFile /dev/null', '  StrictHostKeyChecking no', `  IdentityFile ${join(dir, 'id_ed25519')}`,
      '  IdentitiesOnly yes', '  BatchMode yes', '  LogLevel ERROR', ''].join('\n'),
  );
  const wrapper = join(dir, 'ssh');
  await writeFile(wrapper, `#!/bin/sh\nexec ssh -F ${join(dir, 'ssh_config')} "$@"\n`);
  await chmod(wrapper, 0o755);
  // libvirt runs COMMAND -p PORT -l USER -i KEYFILE … and on the far side virt-ssh-helper (proxy=auto), which finds the namespace's socket.
  return `qemu+ssh://root@127.0.0.1:${port}/system?command=${encodeURIComponent(wrapper)}&keyfile=${encodeURIComponent(join(dir, 'id_ed25519'))}&no_verify=1&no_tty=1`;
}

/**
 * Starts the remote host: the namespace's libvirtd on a free loopback TCP port (and an sshd on
 * another when `ssh`), waits until it answers and starts its pools.
 * @returns the host, or the reason the harness cannot run here (the caller skips with it).
 */
export async function startRemoteHost(opts: { ssh?: boolean } = {}): Promise<RemoteHost | string> {
  const ssh = opts.ssh ?? true;
  const why = await unavailable(ssh);
  if (why) return why;
  const dir = await mkdtemp(join(tmpdir(), 'virt-ovf-remote-'));
  await chmod(dir, 0o755);
  await mkdir(join(dir, 'etc'));
  await mkdir(join(dir, 'shadow'));
  await mkdir(join(dir, 'drivers'));
  for (const d of DRIVERS) await symlink(join(DRIVER_DIR, `libvirt_driver_${d}.so`), join(dir, 'drivers', `libvirt_driver_${d}.so`));
  const tcpPort = await freePort();
  const sshPort = ssh ? await freePort() : 0;
  const sshUri = ssh ? await prepareSsh(dir, sshPort) : undefined;
  const tcpUri = `qemu+tcp://127.0.0.1:${tcpPort}/system`;
  // setpriv --pdeathsig: a test runner that dies takes the namespace with it (unshare --kill-child then kills process 1).
  const child: ChildProcess = spawn('setpriv', ['--pdeathsig', 'KILL', 'unshare', '--mount', '--pid', '--fork', '--mount-proc', '--kill-child', 'bash', SCRIPT, dir, String(tcpPort), String(sshPort)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  const run = async (file: string, args: readonly string[]) => {
    const r = await execa(file, args, { reject: false, timeout: 60_000 });
    return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
  };
  const virsh = (...args: string[]) => run('virsh', ['-c', tcpUri, ...args]);
  const nsPid = async (): Promise<number | undefined> => {
    // Process 1 of the namespace is unshare's child (bash running the script).
    const kids = await run('pgrep', ['-P', String(child.pid)]);
    return kids.code === 0 ? Number(kids.stdout.split('\n')[0]) : undefined;
  };
  const stop = async (): Promise<void> => {
    const init = await nsPid();
    if (init !== undefined) {
      try {
        process.kill(init, 'SIGTERM');
      } catch {
        // Already gone.
      }
    }
    const killed = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }, 10_000);
    if (child.exitCode === null && child.signalCode === null) await exited;
    clearTimeout(killed);
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && (await virsh('version')).code !== 0) {
    if (child.exitCode !== null) break;
    await new Promise((ok) => setTimeout(ok, 200));
  }
  if ((await virsh('version')).code !== 0) {
    await stop();
    return `the remote libvirtd did not answer on ${tcpUri} within 30 s: ${stderr.trim()}`;
  }
  const pools = { images: { name: 'remote-images', path: '/var/lib/libvirt/remote-images' }, shadow: { name: 'remote-shadow', path: join(dir, 'shadow') } };
  for (const pool of Object.values(pools)) {
    for (const args of [['pool-define-as', pool.name, 'dir', '--target', pool.path], ['pool-build', pool.name], ['pool-start', pool.name]]) {
      const r = await virsh(...args);
      if (r.code !== 0) {
        await stop();
        return `cannot create remote pool ${pool.name}: ${r.stderr.trim()}`;
      }
    }
  }
  return {
    tcpUri,
    ...(sshUri ? { sshUri } : {}),
    pools,
    dir,
    virsh,
    inside: async (cmd, args) => run('nsenter', ['-t', String(await nsPid()), '-m', '-p', cmd, ...args]),
    stop,
  };
}

/** Entries of the host's /var/lib/libvirt: what a test compares before and after to see nothing leaked out of the namespace. */
export async function hostLibvirtEntries(): Promise<string[]> {
  return (await readdir('/var/lib/libvirt').catch(() => [] as string[])).sort();
}
