// The export driver, top-down like virt-v2v's v2v.ml: usage checks, the domain, its definition,
// each drive's source, a snapshot of a running domain, the OVF mapping, the package. Helpers follow.
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { DomainDescription } from '../domain/model.js';
import { parseDomainXml } from '../domain/parse.js';
import { LibvirtSetupError, UsageError } from '../errors.js';
import { Connection, lookupDomainByName, VIR_DOMAIN_XML_INACTIVE, type Domain } from '../libvirt/index.js';
import { loadMappings, type Mappings } from '../mapping/load.js';
import { mapDomainToOvf, type ReverseResult } from '../mapping/reverse.js';
import { environmentCdrom } from '../mapping/reverse-system.js';
import { safeName } from '../naming.js';
import type { Reporter } from '../report.js';
import { backupDirectory, backupDisks } from './backup.js';
import { describeDrives, resolveSources, type DriveSource, type ExportDisk } from './disks.js';
import type { ExportResult, ResolvedExportOptions } from './types.js';
import { OutputGuard } from './output.js';
import { packageLayout, writePackage } from './package.js';
import { certificateSize } from './sign.js';

/**
 * Runs an export with resolved options (see index.ts exportDomain): one function and one
 * progress stage per step; `signal` aborts it. Temporary files (conversions, backup copies)
 * are removed whatever happens. The output's paths known from the domain's name (the OVA; the
 * descriptor, manifest and certificate of a directory) are checked by the output guard
 * (output.ts) before any disk is read, every path again before anything is written.
 */
export async function driveExport(opts: ResolvedExportOptions, reporter: Reporter, signal: AbortSignal): Promise<ExportResult> {
  const mappings = checkUsage(opts);
  const conn = Connection.open(opts.connect);
  reporter.emit({ kind: 'debug', message: `libvirt connection URI: ${conn.uri()}` });
  let domain: Domain | null = null;
  try {
    domain = openDomain(conn, opts.domain);
    const desc = await readDefinition(domain, mappings);
    const live = domain.isActive();
    const name = safeName(desc.name);
    const guard = new OutputGuard(conn, opts.force);
    await guard.check((await packageLayout(opts, name, [])).paths);
    reporter.emit({ kind: 'stage', message: `Exporting ${live ? 'running' : 'stopped'} domain ${desc.name}: ${desc.vcpus} vCPU, ${desc.memoryBytes / 2 ** 20} MiB, ${desc.disks.length} drive(s), ${desc.interfaces.length} NIC(s)` });
    const workDir = await mkdtemp(join(outputParent(opts.output), `.virt-ovf-export-`));
    let backupDir: string | undefined;
    try {
      // The ovf-env.xml CD-ROM import attached is no package file: re-import writes it again.
      const environment = environmentCdrom(desc);
      let sources = resolveSources(conn, desc, mappings.export).map((s) => (s.disk === environment ? { disk: s.disk } : s));
      if (live) {
        backupDir = await backupDirectory();
        sources = await snapshot(domain, sources, backupDir, reporter, signal);
      }
      const drives = await describe(sources, name, opts, mappings, reporter, signal);
      const reverse = mapToOvf(desc, drives, mappings, opts, reporter);
      const written = await writePackage({ opts, name, envelope: reverse.envelope, ovfRules: mappings.domain.ovf, disks: reverse.files, workDir, guard, reporter, signal });
      reporter.emit({ kind: 'stage', message: `Finished: ${written.output}` });
      return { output: written.output, kind: written.kind, live, files: written.files, warnings: reporter.warnings };
    } finally {
      await rm(workDir, { recursive: true, force: true });
      if (backupDir) await rm(backupDir, { recursive: true, force: true });
    }
  } finally {
    domain?.free();
    conn.close();
  }
}

/**
 * Every check that needs no libvirt: option values, signing key and certificate (read and
 * matched), the output's directory, the mapping tables and the profile.
 * @returns the mapping tables.
 * @throws UsageError naming the option at fault; MappingError for an invalid table.
 */
function checkUsage(opts: ResolvedExportOptions): Mappings {
  const usage = (message: string, option: string): UsageError => new UsageError(message, { option });
  if (opts.ovfVersion !== 1 && opts.ovfVersion !== 2) throw usage(`OVF version ${String(opts.ovfVersion)}: expected 1 or 2`, 'ovfVersion');
  if (!['vmdk', 'qcow2', 'raw'].includes(opts.diskFormat)) throw usage(`disk format ${opts.diskFormat}: expected vmdk, qcow2 or raw`, 'diskFormat');
  if (!Number.isInteger(opts.compressLevel) || opts.compressLevel < 0 || opts.compressLevel > 9) throw usage(`compression level ${opts.compressLevel}: expected a deflate level 0-9`, 'compressLevel');
  if (!['sha1', 'sha256', 'sha512', 'none'].includes(opts.manifest)) throw usage(`manifest digest ${opts.manifest}: expected sha1, sha256, sha512 or none`, 'manifest');
  if ((opts.signKey === undefined) !== (opts.signCert === undefined)) throw usage('a signing key and its certificate go together; give both or neither', opts.signKey === undefined ? 'signKey' : 'signCert');
  if (opts.signKey !== undefined && opts.manifest === 'none') throw usage('signing needs a manifest; choose a digest other than none', 'manifest');
  if (opts.signKey !== undefined && opts.manifest !== 'none') certificateSize('package.mf', opts.signKey, opts.signCert!, opts.manifest);
  if (!existsSync(outputParent(opts.output))) throw usage(`${opts.output}: the directory ${outputParent(opts.output)} does not exist`, 'output');
  if (opts.output.endsWith('/') && existsSync(opts.output.replace(/\/+$/, '')) && !statSync(opts.output.replace(/\/+$/, '')).isDirectory()) throw usage(`${opts.output}: exists and is not a directory`, 'output');
  const mappings = loadMappings(opts.mappingsDir);
  if (!Object.hasOwn(mappings.defaults.profiles, opts.profile)) throw usage(`unknown profile "${opts.profile}" (known: ${Object.keys(mappings.defaults.profiles).join(', ')})`, 'profile');
  return mappings;
}

/** The domain named `name` on `conn`. @throws LibvirtSetupError when there is none. */
function openDomain(conn: Connection, name: string): Domain {
  const domain = lookupDomainByName(conn, name);
  if (!domain) throw new LibvirtSetupError(`no domain named "${name}" on ${conn.uri()}`);
  return domain;
}

/** The domain's inactive definition (virDomainGetXMLDesc with VIR_DOMAIN_XML_INACTIVE), parsed. */
async function readDefinition(domain: Domain, mappings: Mappings): Promise<DomainDescription> {
  return parseDomainXml(await domain.xml(VIR_DOMAIN_XML_INACTIVE), mappings.domain);
}

/** A running domain's hard disks copied by a backup job (backup.ts); the copies become their sources. */
async function snapshot(domain: Domain, sources: readonly DriveSource[], dir: string, reporter: Reporter, signal: AbortSignal): Promise<DriveSource[]> {
  return backupDisks(domain, sources, dir, reporter, signal);
}

/** The export record of each drive (disks.ts describeDrives): href, format, virtual size, adapter. */
async function describe(sources: readonly DriveSource[], name: string, opts: ResolvedExportOptions, mappings: Mappings, reporter: Reporter, signal: AbortSignal): Promise<ExportDisk[]> {
  reporter.emit({ kind: 'stage', message: `Reading the images of ${sources.filter((s) => s.source).length} drive(s)` });
  return describeDrives(sources, { name, diskFormat: opts.diskFormat }, mappings.export, signal);
}

/** The OVF descriptor content and the package files, in References order; warnings are reported. */
function mapToOvf(desc: DomainDescription, drives: readonly ExportDisk[], mappings: Mappings, opts: ResolvedExportOptions, reporter: Reporter): ReverseResult<ExportDisk> {
  const reverse = mapDomainToOvf(desc, mappings, { ovfVersion: opts.ovfVersion, profile: opts.profile, drives, ...(opts.lax ? { lax: true } : {}) });
  reporter.emit({ kind: 'stage', message: `Mapped to OVF ${opts.ovfVersion === 2 ? '2.0' : '1.x'} (profile ${opts.profile}): ${reverse.envelope.virtualSystems[0]!.hardware.items.length} Item(s), ${reverse.files.length} file(s)` });
  for (const w of reverse.warnings) reporter.emit({ kind: 'warning', message: w });
  return reverse;
}

/** The directory the output goes in (the workspace for conversions is made there). */
function outputParent(output: string): string {
  return dirname(output.replace(/\/+$/, '')) || '.';
}
