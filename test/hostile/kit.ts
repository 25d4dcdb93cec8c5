// Shared scene for the end-to-end hostile-input tests: a scratch pool, a work directory with a
// canary, the base appliance, a qemu-img wrapper that logs every invocation, and the package
// builders. Running the CLI is in run.ts, the checks every refused import must pass in checks.ts.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAppliance, type ApplianceResult } from '../../scripts/appliance.js';
import { scratchPool, uniqueName, TEST_URI, type ScratchPool } from '../libvirt/harness.js';
import { writeQemuImgWrapper } from '../storage/qemu-img-log.js';

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
  /** Shell wrapper given to virt-ovf as VIRT_OVF_QEMU_IMG: logs argv (see run.ts), then runs the real qemu-img. */
  wrapper: string;
  /** Host paths an attack names (e.g. /etc/x): content before the suite, null when absent. */
  watched: Map<string, string | null>;
}

/** Creates the scene: pool, work directory, canary, base appliance, qemu-img wrapper. */
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
  return { pool, work, pkgDir, canary, base, ovf: await readFile(base.ovf, 'utf8'), wrapper: writeQemuImgWrapper(), watched: new Map() };
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

