// Shared helpers for tests that need the real libvirtd: start-up, unique names, scratch pools.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, rm, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Connection, createPool, lookupPool } from '../../src/libvirt/index.js';

const run = promisify(execFile);

// Run journals of this test process (and of the CLIs it starts, which inherit the environment)
// go to a private directory, so no test sees another's interrupted runs in /var/lib/virt-ovf/runs.
if (process.env['VIRT_OVF_STATE_DIR'] === undefined) {
  const stateDir = mkdtempSync(join(tmpdir(), 'virt-ovf-test-state-'));
  process.env['VIRT_OVF_STATE_DIR'] = stateDir;
  process.once('exit', () => rmSync(stateDir, { recursive: true, force: true }));
}

/** The URI every libvirt test talks to. */
export const TEST_URI = 'qemu:///system';

/** A scratch directory pool and the function that removes it (pool and files). */
export interface ScratchPool {
  /** Pool name, unique per call. */
  name: string;
  /** Absolute path of the pool's target directory. */
  path: string;
  /** Destroys the transient pool and deletes its directory; idempotent, never throws. */
  cleanup(): Promise<void>;
}

/** `prefix` + pid + 8 random hex digits, safe as a libvirt object or file name. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

async function daemonAnswers(): Promise<boolean> {
  try {
    await run('virsh', ['-c', TEST_URI, 'version'], { timeout: 15_000 });
    return true;
  } catch {
    return false;
  }
}

let ready: Promise<void> | undefined;

/**
 * Makes sure libvirtd answers on qemu:///system; when it does not and we run as root, starts
 * `virtlogd -d` and `libvirtd -d` and waits up to 30 s. Rejects with a hint otherwise.
 */
export function ensureLibvirtd(): Promise<void> {
  ready ??= (async () => {
    if (await daemonAnswers()) return;
    if (process.getuid?.() !== 0) {
      throw new Error(`libvirtd does not answer on ${TEST_URI}; start it (as root: virtlogd -d; libvirtd -d)`);
    }
    for (const daemon of ['virtlogd', 'libvirtd']) {
      await run(daemon, ['-d'], { timeout: 15_000 }).catch(() => undefined); // may already run
    }
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (await daemonAnswers()) return;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    throw new Error(`libvirtd started but still does not answer on ${TEST_URI}`);
  })();
  return ready;
}

/**
 * Creates and starts a transient `dir` pool (virStoragePoolCreateXML through the binding) on a
 * fresh temporary directory, with a unique name. Call cleanup() from an `after` hook.
 */
export async function scratchPool(): Promise<ScratchPool> {
  await ensureLibvirtd();
  const name = uniqueName('virt-ovf-test-pool');
  const path = await mkdtemp(join(tmpdir(), `${name}-`));
  // QEMU runs as libvirt-qemu and must traverse the pool directory to open its volumes.
  await chmod(path, 0o755);
  const conn = Connection.open(TEST_URI);
  try {
    const xml = `<pool type='dir'><name>${name}</name><target><path>${path}</path></target></pool>`;
    (await createPool(conn, xml)).free();
  } catch (err) {
    conn.close();
    await rm(path, { recursive: true, force: true });
    throw err;
  }
  let done = false;
  const cleanup = async (): Promise<void> => {
    if (done) return;
    done = true;
    try {
      const pool = lookupPool(conn, name);
      if (pool?.isActive()) await pool.destroy();
    } catch {
      // Already gone: nothing to undo.
    } finally {
      conn.close();
      await rm(path, { recursive: true, force: true });
    }
  };
  return { name, path, cleanup };
}

/** XML of a minimal TCG guest: 64 MiB, one vCPU, no disk, no balloon; boots into the BIOS. */
export function tinyDomainXml(name: string): string {
  return [
    `<domain type='qemu'>`,
    `  <name>${name}</name>`,
    `  <memory unit='MiB'>64</memory>`,
    `  <vcpu>1</vcpu>`,
    `  <os><type arch='x86_64'>hvm</type></os>`,
    `  <devices><memballoon model='none'/></devices>`,
    `</domain>`,
  ].join('\n');
}
