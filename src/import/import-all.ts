// Importing every VirtualSystem of a VirtualSystemCollection, each as its own domain, all or nothing.
import { rm } from 'node:fs/promises';
import { openArchive } from '../archive/archive.js';
import { readingMode } from '../archive/stream-package.js';
import { Connection, lookupPool, removeDomainByUUID, ROLLBACK_CALL_MS, VIR_DOMAIN_UNDEFINE_NVRAM } from '../libvirt/index.js';
import { UsageError } from '../errors.js';
import { safeName } from '../naming.js';
import { parseEnvelope } from '../ovf/parse.js';
import { silentReporter, type Reporter } from '../report.js';
import { importPackage } from './import.js';
import { sourceOptionsOf, withDefaults, type ImportOptions, type ImportResult } from './options.js';

/**
 * Imports every VirtualSystem in the package, each named PREFIX-MEMBER where PREFIX is
 * `name`, else the collection's Name or ovf:id. When one member fails, the members already
 * imported by this run are removed again (domain and volumes) before the error is rethrown.
 * @throws UsageError when `vm` is given, or the source is read in one pass (standard input, a
 *   compressed OVA); whatever the failing member's import throws.
 */
export async function importAll(options: ImportOptions, reporter: Reporter = options.reporter ?? silentReporter()): Promise<ImportResult[]> {
  if (options.vm !== undefined) throw new UsageError(`importAll imports every VirtualSystem, so it takes no vm ("${options.vm}")`);
  const opts = withDefaults(options);
  if ((await readingMode(opts.source)) === 'sequential') {
    throw new UsageError(`importAll imports each VirtualSystem in a pass of its own over the package, and ${opts.source === '-' ? 'standard input' : `${opts.source} (compressed)`} can be read only once; give an uncompressed OVA or an .ovf`, { option: 'all' });
  }
  const archive = await openArchive(opts.source, sourceOptionsOf(opts));
  const env = parseEnvelope(await archive.readDescriptor(), archive.descriptorName, {
    ...(opts.deployment !== undefined ? { deployment: opts.deployment } : {}),
    ...(opts.properties ? { properties: opts.properties } : {}),
  });
  const prefix = safeName(opts.name ?? env.collection?.name ?? env.collection?.id ?? archive.descriptorName.replace(/\.ovf$/i, ''));
  const results: ImportResult[] = [];
  try {
    for (const vs of env.virtualSystems) {
      reporter.emit({ kind: 'stage', message: `VirtualSystem ${results.length + 1}/${env.virtualSystems.length}: ${vs.id}` });
      results.push(await importPackage({ ...opts, vm: vs.id, name: `${prefix}-${vs.name ?? vs.id}` }, reporter));
    }
    return results;
  } catch (err) {
    await removeImported(opts, results, reporter);
    throw err;
  }
}

/**
 * Removes the members this run imported, newest first: the domain by its UUID, its XML file and
 * its volumes. libvirt is reached within ROLLBACK_CALL_MS (a hung or dead daemon never blocks the
 * rollback); a member that cannot be removed is reported as kept for `virt-ovf cleanup`.
 */
async function removeImported(opts: ImportOptions & { pool: string }, results: readonly ImportResult[], reporter: Reporter): Promise<void> {
  if (results.length === 0) return;
  let conn: Connection;
  try {
    conn = await Connection.openWithin(opts.connect, ROLLBACK_CALL_MS);
  } catch (err) {
    const names = results.map((r) => r.domain).join(', ');
    reporter.emit({ kind: 'warning', message: `cannot reach libvirt to remove ${names} (${(err as Error).message}); kept for virt-ovf cleanup` });
    return;
  }
  conn.setDeadline(ROLLBACK_CALL_MS);
  try {
    for (const r of [...results].reverse()) {
      try {
        await removeDomainByUUID(conn, r.uuid, VIR_DOMAIN_UNDEFINE_NVRAM);
        if (r.xmlFile) await rm(r.xmlFile, { force: true });
        const pool = opts.outputDir ? null : lookupPool(conn, opts.pool);
        for (const v of r.volumes) {
          if (pool) {
            const vol = pool.lookupVolume(v.name);
            await vol?.delete();
            vol?.free();
          } else {
            await rm(v.path, { force: true });
          }
        }
        pool?.free();
        reporter.emit({ kind: 'stage', message: `Rolled back: domain ${r.domain} and its ${r.volumes.length} volume(s)` });
      } catch (err) {
        reporter.emit({ kind: 'warning', message: `rollback of domain ${r.domain} failed: ${(err as Error).message}; kept for virt-ovf cleanup` });
      }
    }
  } finally {
    conn.close();
  }
}
