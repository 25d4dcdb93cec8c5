// The export driver, top-down like virt-v2v's v2v.ml: usage checks, the domain, its definition,
// each drive's source, a snapshot of a running domain, the OVF mapping, the package. Helpers follow.
import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DomainDescription } from '../domain/model.js';
import { parseDomainXml } from '../domain/parse.js';
import { LibvirtSetupError, UsageError } from '../errors.js';
import { RunJournal } from '../journal/journal.js';
import { reportStaleRuns } from '../journal/stale.js';
import { makeTempDir, type TrackedDir } from '../journal/tracked.js';
import { Connection, giveUpOnAbort, lookupDomainByName, VIR_DOMAIN_XML_INACTIVE, type Domain } from '../libvirt/index.js';
import { loadMappings, type Mappings } from '../mapping/load.js';
import { mapDomainToOvf, type ReverseResult } from '../mapping/reverse.js';
import { environmentCdrom } from '../mapping/reverse-system.js';
import { safeName } from '../naming.js';
import type { Reporter } from '../report.js';
import { backupDirectory, backupDisks } from './backup.js';
import { describeDrives, resolveSources, serveSources, type DriveSource, type ExportDisk, type ServedDrive, type ServedDrives } from './disks.js';
import type { ExportResult, ResolvedExportOptions } from './types.js';
import { OutputGuard } from './output.js';
import { packageLayout, writePackage } from './package.js';
import { certificateSize } from './sign.js';
import { StoppedDomainGuard, StoppedDomainWatch } from './source-watch.js';
import { readStorageSources } from './source-xml.js';
import { readsThroughStreams, runningRemoteDomain, streamSources } from './source-stream.js';
import type { ViewSecret } from './source-qemu.js';
import { secretObject } from '../transfer/secret-file.js';

/**
 * Runs an export with resolved options (see index.ts exportDomain): one function and one
 * progress stage per step; `signal` aborts it. Temporary files (conversions, backup copies)
 * are removed whatever happens. The output's paths known from the domain's name (the OVA; the
 * descriptor, manifest and certificate of a directory) are checked by the output guard
 * (output.ts) before any disk is read, every path again before anything is written.
 * Each disk is read as the guest sees it, served by one qemu-storage-daemon for the whole
 * export (disks.ts serveSources); a stopped domain is watched (source-watch.ts): its disks'
 * image locks are held, and if it starts all the same the export fails and writes nothing. What
 * the export creates (work and backup directories, the backup job, `.part` files, qemu-img,
 * qemu-nbd and qemu-storage-daemon) is recorded first in a run journal (src/journal), removed
 * when the export ends.
 */
export async function driveExport(opts: ResolvedExportOptions, reporter: Reporter, signal: AbortSignal): Promise<ExportResult> {
  const mappings = checkUsage(opts);
  const conn = Connection.open(opts.connect);
  reporter.emit({ kind: 'debug', message: `libvirt connection URI: ${conn.uri()}` });
  let domain: Domain | null = null;
  let watch: StoppedDomainWatch | undefined;
  // An abort gives up a libvirt call that does not answer (a hung daemon), so the export ends in time.
  const stopWatching = giveUpOnAbort(conn, signal);
  try {
    domain = openDomain(conn, opts.domain);
    const { xml, desc } = await readDefinition(domain, mappings);
    const live = domain.isActive();
    const streamed = readsThroughStreams(conn.uri(), opts.transfer);
    if (streamed && live) throw runningRemoteDomain(desc.name, conn.uri());
    const name = safeName(desc.name);
    if (!live) watch = new StoppedDomainWatch(domain, desc.name, signal);
    const guard = watch ? new StoppedDomainGuard(conn, opts.force, watch) : new OutputGuard(conn, opts.force);
    await guard.check((await packageLayout(opts, name, [])).paths);
    reporter.emit({ kind: 'stage', message: `Exporting ${live ? 'running' : 'stopped'} domain ${desc.name}: ${desc.vcpus} vCPU, ${desc.memoryBytes / 2 ** 20} MiB, ${desc.disks.length} drive(s), ${desc.interfaces.length} NIC(s)` });
    reportStaleRuns(reporter, opts.stateDir);
    const journal = RunJournal.start({ uri: conn.uri(), command: `export ${opts.domain}`, ...(opts.stateDir !== undefined ? { stateDir: opts.stateDir } : {}) });
    let work: TrackedDir | undefined;
    let backup: TrackedDir | undefined;
    let served: ServedDrives | undefined;
    let done = false;
    const run = watch?.signal ?? signal;
    try {
      work = await makeTempDir(outputParent(opts.output), '.virt-ovf-export-');
      const workDir = work.dir;
      // The ovf-env.xml CD-ROM import attached is no package file: re-import writes it again.
      const environment = environmentCdrom(desc);
      const storage = readStorageSources(xml, mappings.domain.read.diskType);
      if (streamed) served = await streamSources(conn, desc, storage, { table: mappings.export, lax: opts.lax, reporter, ...(environment ? { skip: environment } : {}) });
      else {
        let sources = resolveSources(conn, desc, storage, mappings.export).map((s) => (s.disk === environment ? { disk: s.disk } : s));
        if (live) {
          backup = await backupDirectory();
          sources = await snapshot(journal, domain, sources, backup.dir, mappings, reporter, signal);
        }
        const verify = watch ? { verify: watch.verify.bind(watch) } : {};
        // A network disk's <auth> secret (an rbd key) goes to qemu-storage-daemon in a 0600 file, never on its command line.
        const openSecrets = (secrets: readonly ViewSecret[]) => Promise.all(secrets.map((x) => secretObject(conn, x.auth, x.id)));
        served = await serveSources(sources, { table: mappings.export, lax: opts.lax, reporter, signal: run, openSecrets, ...verify });
      }
      watch?.arm(served.drives.some((d) => d.source && !d.source.held && d.disk.device === 'disk' && !d.disk.readonly));
      const drives = await describe(served.drives, name, opts, mappings, reporter, run);
      const reverse = mapToOvf(desc, drives, mappings, opts, reporter);
      const written = await writePackage({ opts, name, envelope: reverse.envelope, ovfRules: mappings.domain.ovf, disks: reverse.files, workDir, guard, reporter, signal: run });
      reporter.emit({ kind: 'stage', message: `Finished: ${written.output}` });
      done = true;
      return { output: written.output, kind: written.kind, live, files: written.files, warnings: reporter.warnings };
    } finally {
      await served?.close();
      // A directory that cannot be removed stays in the journal, for virt-ovf cleanup.
      await work?.release().catch(() => undefined);
      await backup?.release().catch(() => undefined);
      if (done) journal.commit();
      const left = done ? undefined : journal.keptMessage();
      if (left !== undefined) reporter.emit({ kind: 'warning', message: `not removed: ${left}` });
      journal.close();
    }
  } finally {
    stopWatching();
    watch?.stop();
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

/** The domain's inactive definition (virDomainGetXMLDesc with VIR_DOMAIN_XML_INACTIVE), as text and parsed. */
async function readDefinition(domain: Domain, mappings: Mappings): Promise<{ xml: string; desc: DomainDescription }> {
  const xml = await domain.xml(VIR_DOMAIN_XML_INACTIVE);
  return { xml, desc: parseDomainXml(xml, mappings.domain) };
}

/**
 * A running domain's hard disks copied by a backup job (backup.ts); the copies become their
 * sources. The job is journaled while it may run, so `virt-ovf cleanup` aborts it after a kill.
 */
async function snapshot(journal: RunJournal, domain: Domain, sources: readonly DriveSource[], dir: string, mappings: Mappings, reporter: Reporter, signal: AbortSignal): Promise<DriveSource[]> {
  const entry = journal.record({ kind: 'backup-job', uuid: domain.uuid(), domain: domain.name(), dir });
  try {
    return await backupDisks(domain, sources, dir, mappings.export, reporter, signal);
  } finally {
    journal.forget(entry);
  }
}

/** The export record of each drive (disks.ts describeDrives): href, format, virtual size, adapter. */
async function describe(sources: readonly ServedDrive[], name: string, opts: ResolvedExportOptions, mappings: Mappings, reporter: Reporter, signal: AbortSignal): Promise<ExportDisk[]> {
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
