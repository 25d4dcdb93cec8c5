// The checks every hostile import must pass: the qemu-img calls it made, and, when refused, that
// it failed cleanly and left nothing behind (pool, domain, work tree, canary, watched host paths).
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { lstat, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { domainExists, poolVolumes, removeDomain } from '../commands/helpers.js';
import { TEST_URI } from '../libvirt/harness.js';
import { CANARY_TEXT, type Scene } from './kit.js';
import { tree, type Run } from './run.js';

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
