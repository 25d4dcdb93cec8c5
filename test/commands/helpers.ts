// Shared helpers for the import tests: run the real CLI, inspect the real pool and domains.
import { execa } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection, lookupDomainByName, lookupPool } from '../../src/libvirt/index.js';
import { scratchPool, TEST_URI, type ScratchPool } from '../libvirt/harness.js';

/** The project's bin/virt-ovf (tests run from dist/test/commands). */
export const CLI = resolve(dirname(fileURLToPath(import.meta.url)), '../../../bin/virt-ovf');

/** Runs `virt-ovf ARGS` to completion; never throws on a non-zero exit. */
export async function runCli(args: string[], opts: { env?: Record<string, string> } = {}) {
  const r = await execa('node', [CLI, ...args], { reject: false, env: { LIBVIRT_DEFAULT_URI: TEST_URI, ...opts.env }, stdin: 'ignore' });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** Files in a directory pool's target path, sorted: the volumes libvirt sees after a refresh. */
export async function poolVolumes(pool: { path: string }): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  return (await readdir(pool.path)).sort();
}

/** True when a domain of that name is defined. */
export function domainExists(name: string): boolean {
  const conn = Connection.open(TEST_URI);
  try {
    const d = lookupDomainByName(conn, name);
    d?.free();
    return d !== null;
  } finally {
    conn.close();
  }
}

/** Destroys (if running) and undefines a domain; no error when it is absent. */
export async function removeDomain(name: string): Promise<void> {
  const conn = Connection.open(TEST_URI);
  try {
    const d = lookupDomainByName(conn, name);
    if (!d) return;
    if (d.isActive()) await d.destroy();
    await d.undefine(4 /* VIR_DOMAIN_UNDEFINE_NVRAM */);
    d.free();
  } finally {
    conn.close();
  }
}

/** True when the pool exists (used to check a scratch pool is still there). */
export function poolExists(name: string): boolean {
  const conn = Connection.open(TEST_URI);
  try {
    const p = lookupPool(conn, name);
    p?.free();
    return p !== null;
  } finally {
    conn.close();
  }
}

/** Waits until `file` contains `text` or `timeoutMs` passes; returns the file's last content. */
export async function waitForText(file: string, text: string, timeoutMs: number): Promise<{ found: boolean; content: string; elapsedMs: number }> {
  const { readFile } = await import('node:fs/promises');
  const start = Date.now();
  let content = '';
  while (Date.now() - start < timeoutMs) {
    content = await readFile(file, 'utf8').catch(() => '');
    if (content.includes(text)) return { found: true, content, elapsedMs: Date.now() - start };
    await new Promise((r) => setTimeout(r, 100));
  }
  return { found: false, content, elapsedMs: Date.now() - start };
}

/** Starts libvirt's `default` NAT network when it is inactive (the boot tests attach NICs to it). */
export async function ensureDefaultNetwork(): Promise<void> {
  const info = await execa('virsh', ['-c', TEST_URI, 'net-info', 'default'], { reject: false });
  if (/^Active:\s+yes/m.test(String(info.stdout))) return;
  await execa('virsh', ['-c', TEST_URI, 'net-start', 'default']);
}

/** Scratch resources of one test file: a directory pool on qemu:///system and a work directory. */
export async function openScratch(label: string, opts: { network?: boolean } = {}): Promise<{ pool: ScratchPool; work: string }> {
  const pool = await scratchPool();
  if (opts.network) await ensureDefaultNetwork();
  const work = await mkdtemp(join(tmpdir(), `virt-ovf-${label}-`));
  return { pool, work };
}

/** Removes what openScratch made and the domains the tests defined; safe when setup failed half way. */
export async function closeScratch(pool: ScratchPool | undefined, work: string | undefined, domains: readonly string[]): Promise<void> {
  for (const d of domains) await removeDomain(d);
  await pool?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
}
