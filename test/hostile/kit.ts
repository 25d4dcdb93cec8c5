// Shared scene for the end-to-end hostile-input tests: a scratch pool, a work directory with a
// canary, a qemu-img wrapper that logs every invocation, and the checks every refused import must pass.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildAppliance, type ApplianceResult } from '../../scripts/appliance.js';
import { scratchPool, uniqueName, TEST_URI, type ScratchPool } from '../libvirt/harness.js';
import { CLI, domainExists, poolVolumes, removeDomain } from '../commands/helpers.js';

export { uniqueName, TEST_URI };

/** ovf:format URIs mapped by mappings/formats.json. */
export const FMT = {
  vmdk: 'http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized',
  qcow2: 'http://www.gnome.org/~markmc/qcow-image-format.html',
  raw: 'http://en.wikipedia.org/wiki/Byte',
} as const;

/** Text of the canary file that sits next to (outside) every package. */
export const CANARY_TEXT = 'canary: virt-ovf must never read this into a descriptor, nor write here\n';

/** Everything a hostile test file shares. */
export interface Scene {
  pool: ScratchPool;
  /** Scratch directory; packages go in `${work}/pkg`, so `../x` from a package means `${work}/x`. */
  work: string;
  pkgDir: string;
  canary: string;
  /** The 1 MiB bootable appliance (descriptor, streamOptimized VMDK, raw disk), no manifest. */
  base: ApplianceResult;
  /** The base descriptor's text. */
  ovf: string;
  /** Shell wrapper given to virt-ovf as VIRT_OVF_QEMU_IMG: logs argv, then runs the real qemu-img. */
  wrapper: string;
  /** Host paths an attack names (e.g. /etc/x): content before the suite, null when absent. */
  watched: Map<string, string | null>;
}

/** Creates the scene: pool, work directory, canary, base appliance, qemu-img wrapper. */
export async function setUp(label: string, opts: { pool?: ScratchPool } = {}): Promise<Scene> {
  const pool = opts.pool ?? (await scratchPool());
  const work = await mkdtemp(join(tmpdir(), `virt-ovf-hostile-${label}-`));
  const pkgDir = join(work, 'pkg');
  await mkdir(pkgDir);
  await mkdir(join(work, 'tmp'));
  const canary = join(work, 'canary.txt');
  await writeFile(canary, CANARY_TEXT);
  const base = await buildAppliance({ dir: join(work, 'base'), name: 'app', manifest: 'none', ova: false });
  const real = (await execa('sh', ['-c', 'command -v qemu-img'])).stdout.trim();
  const wrapper = join(work, 'qemu-img-logged');
  await writeFile(
    wrapper,
    `#!/bin/sh\nif [ -n "$HOSTILE_QEMU_LOG" ]; then { for a in "$@"; do printf '%s\\037' "$a"; done; printf '\\036'; } >> "$HOSTILE_QEMU_LOG"; fi\nexec ${real} "$@"\n`,
  );
  await chmod(wrapper, 0o755);
  return { pool, work, pkgDir, canary, base, ovf: await readFile(base.ovf, 'utf8'), wrapper, watched: new Map() };
}

/** Removes the pool and the work directory. */
export async function tearDown(scene: Scene | undefined): Promise<void> {
  await scene?.pool.cleanup();
  if (scene) await rm(scene.work, { recursive: true, force: true });
}

/** Records a host path an attack names, so the test can show it was neither created nor changed. */
export async function watch(scene: Scene, path: string): Promise<void> {
  if (!scene.watched.has(path)) scene.watched.set(path, await readFile(path, 'latin1').catch(() => null));
}

/** Edits of the base descriptor; every edit must apply (a silent no-op would weaken the test). */
export interface OvfEdit {
  href?: string;
  format?: string;
  capacity?: number;
  /** null removes ovf:populatedSize. */
  populatedSize?: number | null;
  compression?: string;
  /** VirtualSystem <Name> content, inserted verbatim (may hold character references). */
  name?: string;
  /** Extra XML inserted before </References>. */
  moreFiles?: string;
  /** Replaces `<Name>app</Name>` with this markup (hostile elements). */
  replaceName?: string;
}

function replaceOnce(text: string, from: string | RegExp, to: string): string {
  assert.ok(typeof from === 'string' ? text.includes(from) : from.test(text), `descriptor edit did not apply: ${String(from)}`);
  return text.replace(from, to);
}

/** The base descriptor with `e` applied. */
export function editOvf(ovf: string, e: OvfEdit): string {
  let t = ovf;
  if (e.href !== undefined) t = replaceOnce(t, 'ovf:href="app-disk1.vmdk"', `ovf:href="${e.href}"`);
  if (e.compression !== undefined) t = replaceOnce(t, 'ovf:id="file1"', `ovf:id="file1" ovf:compression="${e.compression}"`);
  if (e.moreFiles !== undefined) t = replaceOnce(t, '</References>', `${e.moreFiles}</References>`);
  if (e.format !== undefined) t = replaceOnce(t, `ovf:format="${FMT.vmdk}"`, `ovf:format="${e.format}"`);
  if (e.capacity !== undefined) t = replaceOnce(t, /ovf:capacity="\d+"/, `ovf:capacity="${e.capacity}"`);
  if (e.populatedSize === null) t = replaceOnce(t, / ovf:populatedSize="\d+"/, '');
  else if (e.populatedSize !== undefined) t = replaceOnce(t, /ovf:populatedSize="\d+"/, `ovf:populatedSize="${e.populatedSize}"`);
  if (e.name !== undefined) t = replaceOnce(t, '<Name>app</Name>', `<Name>${e.name}</Name>`);
  if (e.replaceName !== undefined) t = replaceOnce(t, '<Name>app</Name>', e.replaceName);
  return t;
}

/** A file to put in a package: literal content, or a host file to copy. */
export type Content = string | Buffer | { copy: string };

/** Writes `files` (member name → content) into `${work}/src-LABEL/` and returns that directory. */
export async function stage(scene: Scene, label: string, files: Record<string, Content>): Promise<string> {
  const dir = join(scene.work, `src-${label}`);
  await mkdir(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    if (typeof content === 'object' && !Buffer.isBuffer(content)) await execa('cp', ['--sparse=always', content.copy, join(dir, name)]);
    else await writeFile(join(dir, name), content);
  }
  return dir;
}

/** Stages `files` and packs them, in order, into `${pkgDir}/LABEL.ova` with the system tar (ustar unless `tarArgs` say otherwise). */
export async function packOva(scene: Scene, label: string, files: Record<string, Content>, tarArgs: string[] = ['--format=ustar']): Promise<string> {
  const dir = await stage(scene, label, files);
  const ova = join(scene.pkgDir, `${label}.ova`);
  await execa('tar', [...tarArgs, '-cf', ova, '-C', dir, ...Object.keys(files)]);
  return ova;
}

/** The base package with an edited descriptor and (optionally) another disk file. */
export function baseFiles(scene: Scene, e: OvfEdit = {}, disk: Content = { copy: scene.base.vmdk }, diskName = e.href ?? 'app-disk1.vmdk'): Record<string, Content> {
  return { 'app.ovf': editOvf(scene.ovf, e), [diskName]: disk };
}

/** Files and pool state before a run, compared afterwards. */
type Before = { pool: string[]; tree: Map<string, string> };

/** What one CLI run did. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
  /** Peak RSS of the CLI in KiB (only with `rss: true` and /usr/bin/time present). */
  rssKiB?: number;
  /** qemu-img argument vectors, in order. */
  qemu: string[][];
  name: string;
  pkg: string;
  before: Before;
  /** The `interrupt` signal was sent. */
  interrupted: boolean;
}

/** Regular files, links and directories under `dir`, with size and mtime of files (directories by name only). */
async function tree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const rel of await readdir(dir, { recursive: true })) {
    const st = await lstat(join(dir, rel)).catch(() => undefined);
    if (!st) continue;
    out.set(rel, st.isDirectory() ? 'dir' : `${st.isSymbolicLink() ? 'link' : st.isFile() ? 'file' : 'other'}:${st.size}:${st.mtimeMs}`);
  }
  return out;
}

let haveTime: boolean | undefined; // /usr/bin/time is installed

/** Options of {@link importPkg}. */
export interface ImportOpts {
  name?: string;
  /** Distinguishes this run's TMPDIR and qemu-img log when runs share a name (default: the name). */
  runId?: string;
  /** Leave --name out (the name comes from the descriptor; `name` is then only what to check). */
  noName?: boolean;
  args?: string[];
  /** Measure peak RSS with /usr/bin/time -f %M. */
  rss?: boolean;
  timeoutMs?: number;
  /** Extra environment for the CLI (overrides the defaults, e.g. VIRT_OVF_QEMU_IMG). */
  env?: Record<string, string>;
  /** Send `signal` to the CLI the first time its stdout matches `when` (use with --json; not with rss). */
  interrupt?: { when: RegExp; signal: NodeJS.Signals };
}

/**
 * Runs `virt-ovf import PKG --pool SCRATCH --name NAME --virt-type qemu ARGS` with TMPDIR set to a
 * fresh directory inside the work tree and the logging qemu-img wrapper; never throws on a non-zero exit.
 */
export async function importPkg(scene: Scene, pkg: string, opts: ImportOpts = {}): Promise<Run> {
  const name = opts.name ?? uniqueName('hostile');
  const runId = opts.runId ?? name;
  const runTmp = join(scene.work, 'tmp', runId);
  await mkdir(runTmp, { recursive: true });
  const before: Before = { pool: await poolVolumes(scene.pool), tree: await tree(scene.work) };
  const log = join(scene.work, `qemu-${runId}.log`);
  await writeFile(log, '');
  const argv = [CLI, 'import', pkg, '--pool', scene.pool.name, ...(opts.noName ? [] : ['--name', name]), '--virt-type', 'qemu', ...(opts.args ?? [])];
  haveTime ??= await lstat('/usr/bin/time').then(() => true, () => false);
  const timed = opts.rss === true && haveTime;
  const [file, args] = timed ? ['/usr/bin/time', ['-f', 'HOSTILE_MAXRSS_KIB=%M', 'node', ...argv]] : ['node', argv];
  const env = { LIBVIRT_DEFAULT_URI: TEST_URI, TMPDIR: runTmp, VIRT_OVF_QEMU_IMG: scene.wrapper, HOSTILE_QEMU_LOG: log, ...opts.env };
  const started = performance.now();
  const child = execa(file, args as string[], { reject: false, env, stdin: 'ignore', timeout: opts.timeoutMs ?? 120_000 });
  let interrupted = false;
  if (opts.interrupt) {
    const { when, signal } = opts.interrupt;
    child.stdout?.on('data', (chunk: Buffer) => {
      if (!interrupted && when.test(chunk.toString())) {
        interrupted = true;
        child.kill(signal);
      }
    });
  }
  const r = await child;
  const ms = performance.now() - started;
  let stderr = String(r.stderr);
  let rssKiB: number | undefined;
  if (timed) {
    const m = /HOSTILE_MAXRSS_KIB=(\d+)/.exec(stderr);
    if (m) rssKiB = Number(m[1]);
    stderr = stderr.replace(/^(HOSTILE_MAXRSS_KIB=\d+|Command exited with non-zero status \d+|Command terminated by signal \d+)\n?/gm, '');
  }
  const qemu = (await readFile(log, 'utf8')).split('\x1e').filter((s) => s !== '').map((s) => s.split('\x1f').slice(0, -1));
  await rm(log);
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr, ms, ...(rssKiB !== undefined ? { rssKiB } : {}), qemu, name, pkg, before, interrupted };
}

/**
 * Every qemu-img call carries `-f FORMAT`; each `json:` filename names only the package itself, a
 * file beside a package .ovf, or a temporary file (never descriptor text, never a protocol
 * driver); the only plain path, convert's target, lies in the pool.
 */
export function assertQemuCalls(scene: Scene, run: Run): void {
  const pkgRoot = run.pkg.endsWith('.ovf') ? `${dirname(run.pkg)}/` : undefined;
  const allowed = (n: string) => n === run.pkg || n.startsWith(`${scene.pool.path}/`) || n.startsWith(`${scene.work}/tmp/`) || (pkgRoot !== undefined && n.startsWith(pkgRoot));
  for (const argv of run.qemu) {
    const f = argv.indexOf('-f');
    assert.ok(f > 0 && /^(raw|qcow2|vmdk|vpc|vhdx|vdi)$/.test(argv[f + 1] ?? ''), `qemu-img without -f: ${argv.join(' ')}`);
    if (argv[0] === 'convert') assert.ok(argv.at(-1)!.startsWith(`${scene.pool.path}/`), `convert target outside the pool: ${argv.at(-1)}`);
    for (const arg of argv.filter((a) => a.startsWith('json:'))) {
      const names: string[] = [];
      JSON.stringify(JSON.parse(arg.slice(5)), (k, v: unknown) => (k === 'filename' && typeof v === 'string' ? (names.push(v), v) : v));
      assert.ok(names.length > 0 && names.every(allowed), `qemu-img opened ${names.join(', ') || 'no file'}: ${arg}`);
      assert.ok(!/"driver":"(?!file"|raw")/.test(arg), `qemu-img got a protocol driver: ${arg}`);
    }
  }
}

/** Expectations of {@link assertRefused}. */
export interface Refusal {
  code: number;
  /** Each must match stderr. */
  message: RegExp[];
  /** 'none': qemu-img never ran; 'no-convert': never converted; 'any'. Default 'none'. */
  qemu?: 'none' | 'no-convert' | 'any';
  /** Host paths that must not exist afterwards (e.g. `${work}/x` for a `../x` member). */
  absent?: string[];
  /** Upper bound on the wall time, in ms. */
  maxMs?: number;
}

/** The run failed as expected and left nothing: volumes, domain, temp files, files outside the package. */
export async function assertRefused(scene: Scene, run: Run, want: Refusal): Promise<void> {
  const where = `exit ${run.code}\nstderr: ${run.stderr}`;
  assert.equal(run.code, want.code, where);
  for (const re of want.message) assert.match(run.stderr, re, where);
  assert.doesNotMatch(run.stderr, /internal error|^\s+at /m, `not a clean error: ${where}`);
  if (want.maxMs !== undefined) assert.ok(run.ms < want.maxMs, `took ${Math.round(run.ms)} ms (bound ${want.maxMs} ms)`);
  const qemu = want.qemu ?? 'none';
  if (qemu === 'none') assert.deepEqual(run.qemu, [], 'qemu-img ran although the package is refused before it');
  if (qemu === 'no-convert') assert.ok(!run.qemu.some((a) => a[0] === 'convert'), 'qemu-img convert ran');
  assertQemuCalls(scene, run);
  await assertNothingLeft(scene, run, want.absent ?? []);
}

/** The work tree (packages, canary, this run's TMPDIR) is as it was before `run`: nothing written, nothing left. */
export async function assertTreeUnchanged(scene: Scene, run: Run): Promise<void> {
  const now = await tree(scene.work);
  const changed = [...new Set([...now.keys(), ...run.before.tree.keys()])].filter((k) => now.get(k) !== run.before.tree.get(k));
  assert.deepEqual(changed.map((k) => `${k}: ${run.before.tree.get(k) ?? 'absent'} -> ${now.get(k) ?? 'absent'}`), [], 'files appeared, vanished or changed in the work tree (temporary files left in TMPDIR?)');
}

/** Pool, domain, work tree, canary and watched paths are as they were before `run`. */
export async function assertNothingLeft(scene: Scene, run: Run, absent: string[] = []): Promise<void> {
  assert.deepEqual(await poolVolumes(scene.pool), run.before.pool, 'the pool changed');
  assert.equal(domainExists(run.name), false, `domain ${run.name} exists`);
  assert.equal(await readFile(scene.canary, 'utf8'), CANARY_TEXT, 'canary changed');
  await assertTreeUnchanged(scene, run);
  for (const p of absent) await assert.rejects(lstat(p), `${p} was created`);
  for (const [p, content] of scene.watched) assert.equal(await readFile(p, 'latin1').catch(() => null), content, `${p} changed`);
}

/** Undefines the domain and deletes the volumes a successful run added to the pool. */
export async function dropImport(scene: Scene, run: Run, domain = run.name): Promise<void> {
  await removeDomain(domain);
  for (const vol of await poolVolumes(scene.pool)) {
    if (!run.before.pool.includes(vol)) await execa('virsh', ['-c', TEST_URI, 'vol-delete', '--pool', scene.pool.name, vol], { reject: false });
  }
}
