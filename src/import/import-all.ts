// Importing every VirtualSystem of a VirtualSystemCollection, each as its own domain, all or nothing.
import { rm } from 'node:fs/promises';
import { openArchive } from '../archive/archive.js';
import { Connection, lookupDomainByName, lookupPool, VIR_DOMAIN_UNDEFINE_NVRAM } from '../libvirt/index.js';
import { UsageError } from '../errors.js';
import { safeName } from '../naming.js';
import { parseEnvelope } from '../ovf/parse.js';
import { silentReporter, type Reporter } from '../report.js';
import { importPackage } from './import.js';
import { withDefaults, type ImportOptions, type ImportResult } from './options.js';

/**
 * Imports every VirtualSystem in the package, each named PREFIX-MEMBER where PREFIX is
 * `name`, else the collection's Name or ovf:id. When one member fails, the members already
 * imported by this run are removed again (domain and volumes) before the error is rethrown.
 * @throws UsageError when `vm` is given; whatever the failing member's import throws.
 */
export async function importAll(options: ImportOptions, reporter: Reporter = options.reporter ?? silentReporter()): Promise<ImportResult[]> {
  if (options.vm !== undefined) throw new UsageError(`importAll imports every VirtualSystem, so it takes no vm ("${options.vm}")`);
  const opts = withDefaults(options);
  const archive = await openArchive(opts.source);
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

async function removeImported(opts: ImportOptions & { pool: string }, results: readonly ImportResult[], reporter: Reporter): Promise<void> {
  if (results.length === 0) return;
  const conn = Connection.open(opts.connect);
  try {
    for (const r of [...results].reverse()) {
      const domain = lookupDomainByName(conn, r.domain);
      if (domain) {
        if (domain.isActive()) await domain.destroy();
        await domain.undefine(VIR_DOMAIN_UNDEFINE_NVRAM);
        domain.free();
      }
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
    }
  } finally {
    conn.close();
  }
}
