// Shared fixture of the exportsrc fault tests: a scratch directory QEMU can traverse, domains
// defined on the real libvirtd, the CLI with a private $TMPDIR, the exported disks compared with
// `qemu-img compare` to the disk as the guest sees it, and the checks that nothing is left.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execa } from 'execa';
import { createReadStream, existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, removeDomain } from '../commands/helpers.js';
import { ensureLibvirtd, TEST_URI, uniqueName } from '../libvirt/harness.js';

/** A scratch directory (mode 0755: QEMU's user may open the disks in it), its own $TMPDIR, and the domains to remove. */
export interface Scratch {
  readonly dir: string;
  readonly tmp: string;
  readonly domains: string[];
  cleanup(): Promise<void>;
}

/** Makes the scratch directory of one test file (libvirtd must answer). */
export async function openScratch(label: string): Promise<Scratch> {
  await ensureLibvirtd();
  const dir = await mkdtemp(join(tmpdir(), `virt-ovf-${label}-`));
  await chmod(dir, 0o755);
  const tmp = join(dir, 'tmp');
  await mkdir(tmp);
  const domains: string[] = [];
  return { dir, tmp, domains, cleanup: async () => {
    for (const d of domains) await removeDomain(d).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  } };
}

/** Defines a stopped domain named after `label` whose <devices> hold `disks` (domain XML); returns its name. */
export async function defineWithDisks(s: Scratch, label: string, disks: string): Promise<string> {
  const name = uniqueName(label);
  const xml = join(s.dir, `${name}.xml`);
  const { writeFile } = await import('node:fs/promises');
  await writeFile(xml, `<domain type='qemu'><name>${name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os><devices>${disks}<graphics type='vnc'/></devices></domain>`);
  await execa('virsh', ['-c', TEST_URI, 'define', xml]);
  s.domains.push(name);
  return name;
}

/** A <disk> element of `device` on virtio (hard disks) or IDE (CD-ROMs) with the given type, driver type and inner XML. */
export function diskXml(type: string, driverType: string, dev: string, inner: string, device = 'disk'): string {
  const bus = device === 'cdrom' ? 'ide' : 'virtio';
  return `<disk type='${type}' device='${device}'><driver name='qemu' type='${driverType}'/>${inner}<target dev='${dev}' bus='${bus}'/>${device === 'cdrom' ? '<readonly/>' : ''}</disk>`;
}

/** Runs `virt-ovf ARGS` with $TMPDIR in the scratch directory; never throws on a non-zero exit. */
export async function runCli(s: Scratch, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await execa('node', [CLI, ...args], { reject: false, stdin: 'ignore', env: { LIBVIRT_DEFAULT_URI: TEST_URI, TMPDIR: s.tmp } });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** `qemu-img compare` of the guest's view (`guest`, opened with `-f guestFormat`; a json: filename when guestFormat is undefined) and an exported disk file. */
export async function compareToGuest(guest: string, guestFormat: string | undefined, exported: string, exportedFormat: string): Promise<void> {
  const args = ['compare', ...(guestFormat ? ['-f', guestFormat] : []), '-F', exportedFormat, guest, exported];
  const r = await execa('qemu-img', args, { reject: false });
  assert.equal(r.exitCode, 0, `qemu-img ${args.join(' ')}: ${r.stdout}${r.stderr}`);
}

/** The disk files an export wrote (OVA members extracted into `dir`/x-NAME, or the directory's files), by extension. */
export async function exportedDisks(output: string, ext: string): Promise<string[]> {
  let dir = output;
  if (output.endsWith('.ova')) {
    dir = `${output}.x`;
    await mkdir(dir, { recursive: true });
    await execa('tar', ['-xf', output, '-C', dir]);
  }
  return (await readdir(dir)).filter((f) => f.endsWith(`.${ext}`)).sort().map((f) => join(dir, f));
}

/** SHA-256 of a file or block device, in hex. */
export async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The SHA-256 of each file, to check later that none changed. */
export async function fingerprints(paths: readonly string[]): Promise<Map<string, string>> {
  return new Map(await Promise.all(paths.map(async (p) => [p, await sha256(p)] as const)));
}

/** Asserts every file still has its fingerprint. */
export async function assertUnchanged(before: ReadonlyMap<string, string>): Promise<void> {
  for (const [path, digest] of before) assert.equal(await sha256(path), digest, `${path} is byte-identical`);
}

/** qemu-storage-daemon processes whose command line names `needle` (a scratch directory). */
export async function daemonsNaming(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const pid of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(pid)) continue;
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes('qemu-storage-daemon') && cmd.includes(needle)) pids.push(Number(pid));
  }
  return pids;
}

/**
 * Asserts an export left nothing: no qemu-storage-daemon serving a disk of the scratch
 * directory (or its sockets), no socket directory in its $TMPDIR, no work directory or `.part`
 * beside `output`, and no OVA unless `kept`.
 */
export async function assertNothingLeft(s: Scratch, output: string, opts: { kept?: boolean } = {}): Promise<void> {
  assert.deepEqual(await daemonsNaming(s.dir), [], 'no qemu-storage-daemon left');
  assert.deepEqual((await readdir(s.tmp)).filter((f) => f.startsWith('virt-ovf-')), [], 'no socket directory left');
  const parent = join(output, '..');
  assert.deepEqual((await readdir(parent)).filter((f) => f.startsWith('.virt-ovf-export-') || f.endsWith('.part')), [], 'no work directory or .part left');
  if (!opts.kept) assert.ok(!existsSync(output), `${output} was not written`);
}

/** Starts qemu-nbd serving `image` (raw, read-only unless told) to any number of clients on `listen` (TCP port on 127.0.0.1 or a Unix socket path); returns how to stop it. */
export async function startNbdServer(image: string, listen: { port: number } | { socket: string }, exportName: string, opts: { readOnly?: boolean } = {}): Promise<() => Promise<void>> {
  const where = 'port' in listen ? ['-b', '127.0.0.1', '-p', String(listen.port)] : ['-k', listen.socket];
  const child = execa('qemu-nbd', [...(opts.readOnly === false ? [] : ['--read-only']), '--persistent', '--shared=0', '-f', 'raw', '-x', exportName, ...where, image], { reject: false });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const probe = 'port' in listen ? `nbd://127.0.0.1:${listen.port}/${exportName}` : `nbd+unix:///${exportName}?socket=${listen.socket}`;
    if ((await execa('qemu-img', ['info', '-U', '-f', 'raw', probe], { reject: false })).exitCode === 0) break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`qemu-nbd did not start: ${String((await child).stderr)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  // A started domain's QEMU (another user) connects to the socket too.
  if ('socket' in listen) await chmod(listen.socket, 0o666);
  return async () => {
    child.kill('SIGTERM');
    await child;
  };
}

/** A TCP port on 127.0.0.1 that nothing listens on now. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}
