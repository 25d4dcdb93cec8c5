// Fixtures for the "export never destroys" tests: real domains whose disks are real qcow2 files,
// a volume in a real scratch pool, and byte-for-byte fingerprints of files that must survive.
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { ensureLibvirtd, scratchPool, TEST_URI, uniqueName, type ScratchPool } from '../libvirt/harness.js';

/** sha256 of a file's bytes, or 'absent'. */
export function fingerprint(path: string): string {
  return existsSync(path) ? createHash('sha256').update(readFileSync(path)).digest('hex') : 'absent';
}

/** A qcow2 disk of 64 MiB virtual size whose first 2 MiB hold the byte `pattern`. */
export async function makeDisk(path: string, pattern: number): Promise<string> {
  await execa('qemu-img', ['create', '-q', '-f', 'qcow2', path, '64M']);
  await execa('qemu-io', ['-f', 'qcow2', '-c', `write -P ${pattern} 0 2M`, path]);
  return path;
}

/** Defines a stopped TCG domain `name` with one SATA qcow2 disk at `disk`. */
export async function defineDomain(dir: string, name: string, disk: string): Promise<void> {
  const xml = join(dir, `${name}.xml`);
  writeFileSync(xml, `<domain type='qemu'><name>${name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os><devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${disk}'/><target dev='sda' bus='sata'/></disk></devices></domain>`);
  await execa('virsh', ['-c', TEST_URI, 'define', xml]);
}

/** Two stopped domains (the one exported and another) with disks in `dir`, and a scratch pool holding one volume. */
export interface HeldFixture {
  readonly exported: { readonly name: string; readonly disk: string };
  readonly other: { readonly name: string; readonly disk: string };
  readonly pool: ScratchPool;
  /** Path of a qcow2 volume of `pool` that no domain uses. */
  readonly volume: string;
  /** Undefines the domains and removes the pool; never throws. */
  cleanup(): Promise<void>;
}

/** Builds a {@link HeldFixture} on qemu:///system, with the domains' disks in `dir`. */
export async function heldFixture(dir: string, label: string): Promise<HeldFixture> {
  const exported = { name: uniqueName(`${label}-own`), disk: await makeDisk(join(dir, 'own-disk.qcow2'), 0x5a) };
  const other = { name: uniqueName(`${label}-other`), disk: await makeDisk(join(dir, 'other-disk.qcow2'), 0x3c) };
  const pool = await scratchPool();
  const cleanup = async (): Promise<void> => {
    for (const d of [exported, other]) await execa('virsh', ['-c', TEST_URI, 'undefine', d.name], { reject: false });
    await pool.cleanup();
  };
  try {
    await defineDomain(dir, exported.name, exported.disk);
    await defineDomain(dir, other.name, other.disk);
    await execa('virsh', ['-c', TEST_URI, 'vol-create-as', pool.name, 'spare.qcow2', '16M', '--format', 'qcow2']);
    return { exported, other, pool, volume: join(pool.path, 'spare.qcow2'), cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Names in `dir` that a failed export must not leave behind: .part files and work directories. */
export function debris(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.part') || f.startsWith('.virt-ovf-export-'));
}

/**
 * Registers before/after hooks of the enclosing suite that build a {@link HeldFixture} in a
 * fresh work directory and remove both; the returned object is filled in by the before hook.
 */
export function useHeldFixture(label: string): { work: string; fx: HeldFixture } {
  const ctx = {} as { work: string; fx: HeldFixture };
  before(async () => {
    await ensureLibvirtd();
    ctx.work = await mkdtemp(join(tmpdir(), `virt-ovf-${label}-`));
    ctx.fx = await heldFixture(ctx.work, label);
  });
  after(async () => {
    await ctx.fx?.cleanup();
    if (ctx.work) await rm(ctx.work, { recursive: true, force: true });
  });
  return ctx;
}
