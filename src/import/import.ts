// The import driver, top-down: usage checks, open package and plan, host targets, check host, convert and verify, define, start.
import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { defineDomain, lookupDomainByUUID, VIR_DOMAIN_UNDEFINE_NVRAM, VIR_DOMAIN_UNDEFINE_TPM, type Connection } from '../libvirt/index.js';
import type { Reporter } from '../report.js';
import type { TargetStore } from '../storage/volumes.js';
import { buildDomainXml } from './build-domain.js';
import { convertDrive, type CreatedVolume } from './convert.js';
import { checkHost, chooseVirtType, connect, openStore } from './host.js';
import { checkUsage, silentReporter, withDefaults, type ImportOptions, type ImportResult, type ResolvedImportOptions } from './options.js';
import { planImport, type ImportPlan } from './plan.js';
import { alongside, Rollback, withAbort } from './rollback.js';
import { assignTargets, destinationOf, volumeFormat, type DriveTarget, type TargetedDrive } from './targets.js';
import { checkSignature, verifyManifest } from './verify.js';

/** The domain as it will be defined: its drives with their targets, UUID, type and XML. */
interface DomainDraft {
  readonly drives: readonly TargetedDrive[];
  readonly store?: TargetStore;
  readonly virtType: 'kvm' | 'qemu';
  readonly uuid: string;
  readonly xml: string;
}

/**
 * Imports an OVF package as a libvirt domain. printXml and dryRun follow the same path and stop
 * early: printXml once the XML is built, dryRun once the host has been checked. Everything the
 * import created (volumes, files, the domain) is removed again when a later step fails or the
 * import is aborted (`signal`, or SIGINT/SIGTERM with `handleSignals`); nothing that existed
 * before is touched.
 * @param reporter receives progress and warnings; default: one that only keeps the warnings.
 * @throws the VirtOvfError subclass matching the failure (see errors.ts; UsageError and
 *   LibvirtSetupError carry the `option` they concern), or the signal's reason when aborted.
 */
export async function importPackage(options: ImportOptions, reporter: Reporter = silentReporter()): Promise<ImportResult> {
  const opts = withDefaults(options);
  checkUsage(opts);
  const plan = await openPackage(opts, reporter);
  const conn = connect(opts, reporter);
  try {
    const draft = await draftDomain(conn, plan, opts);
    if (opts.printXml) return { domain: plan.name, uuid: '', virtType: draft.virtType, defined: false, started: false, volumes: [], xml: draft.xml, warnings: plan.warnings };
    await checkHost(conn!, plan, draft.drives, draft.store!, opts);
    if (opts.verify) await checkSignature(plan, { reporter, ...(opts.caFile !== undefined ? { caFile: opts.caFile } : {}), ...(opts.requireSignature ? { requireSignature: true } : {}) });
    if (opts.dryRun) {
      reporter.emit({ kind: 'stage', message: 'Dry run: nothing was created' });
      return { domain: plan.name, uuid: draft.uuid, virtType: draft.virtType, defined: false, started: false, volumes: [], xml: draft.xml, warnings: plan.warnings };
    }
    return await withAbort(opts, (signal) => createDomain(conn!, plan, { ...draft, store: draft.store! }, opts, reporter, signal));
  } finally {
    conn?.close();
  }
}

/**
 * Opens the package and plans the domain; refuses a package with a EULA the caller did not accept.
 * @throws what planImport throws; UsageError (option `acceptEula`) for an unaccepted EULA.
 */
async function openPackage(opts: ResolvedImportOptions, reporter: Reporter): Promise<ImportPlan> {
  reporter.emit({ kind: 'stage', message: `Opening ${opts.source}` });
  const plan = await planImport({ ...opts, descriptorOnly: opts.printXml === true || opts.dryRun === true });
  for (const w of plan.warnings) reporter.emit({ kind: 'warning', message: w });
  if (plan.eulas.length > 0 && !opts.acceptEula && !opts.printXml) {
    throw new UsageError(`${opts.source} has a license agreement (EulaSection); read it with inspect, then accept it`, { option: 'acceptEula' });
  }
  const m = plan.mapped;
  reporter.emit({ kind: 'stage', message: `VirtualSystem "${plan.virtualSystem.id}" (${plan.envelope.producer}): ${m.vcpus} vCPU, ${m.memoryBytes / 2 ** 20} MiB, ${m.firmware}, ${plan.drives.length} drive(s), ${m.nics.length} NIC(s)` });
  return plan;
}

/** Chooses the domain type, the store and each drive's target, a UUID free on the host, and builds the XML. */
async function draftDomain(conn: Connection | undefined, plan: ImportPlan, opts: ResolvedImportOptions): Promise<DomainDraft> {
  const virtType = await chooseVirtType(conn, opts.virtType);
  const store = await openStore(conn, opts);
  const destination = store ? destinationOf(store) : { kind: 'pool' as const, pool: opts.pool };
  const system = plan.mappings.system;
  const drives = assignTargets(plan.drives, destination, volumeFormat(destination, system, opts.volumeFormat), system);
  let uuid = randomUUID();
  while (conn && !opts.printXml && lookupDomainByUUID(conn, uuid)) uuid = randomUUID();
  const xml = buildDomainXml(plan, drives, { type: virtType, uuid, ...(opts.serialLog ? { serialLog: opts.serialLog } : {}) });
  return { drives, virtType, uuid, xml, ...(store ? { store } : {}) };
}

/** Converts every drive while the manifest is verified, writes DOMAIN.xml (output directory), defines and starts the domain; rolls back on failure. */
async function createDomain(conn: Connection, plan: ImportPlan, draft: DomainDraft & { store: TargetStore }, opts: ResolvedImportOptions, reporter: Reporter, signal: AbortSignal): Promise<ImportResult> {
  const { store, xml } = draft;
  const rollback = new Rollback();
  try {
    const volumes = await alongside(
      signal,
      (s) => convertDrives(plan, draft.drives, { store, rollback, reporter, signal: s, tempDir: opts.tempDir ?? (store.kind === 'dir' ? store.dir : store.poolPath) }),
      (s) => verifyManifest(plan, { verify: opts.verify, reporter }, s),
    );
    let xmlFile: string | undefined;
    if (store.kind === 'dir') {
      xmlFile = join(store.dir, `${plan.name}.xml`);
      await writeFile(xmlFile, xml, { flag: 'wx' });
      rollback.add(`file ${xmlFile}`, () => rm(xmlFile!, { force: true }));
    }
    signal.throwIfAborted();
    reporter.emit({ kind: 'stage', message: `Defining domain ${plan.name}` });
    const domain = await defineDomain(conn, xml);
    rollback.add(`domain ${plan.name}`, async () => {
      if (domain.isActive()) await domain.destroy();
      await domain.undefine(VIR_DOMAIN_UNDEFINE_NVRAM | VIR_DOMAIN_UNDEFINE_TPM);
    });
    let started = false;
    if (opts.start) {
      signal.throwIfAborted();
      reporter.emit({ kind: 'stage', message: `Starting domain ${plan.name}` });
      await domain.start();
      started = true;
    }
    rollback.commit();
    domain.free();
    if (store.kind === 'pool') await store.pool.refresh().catch(() => undefined);
    reporter.emit({ kind: 'stage', message: `Finished: domain ${plan.name} ${started ? 'defined and started' : 'defined'}` });
    return { domain: plan.name, uuid: draft.uuid, virtType: draft.virtType, defined: true, started, volumes, xml, ...(xmlFile ? { xmlFile } : {}), warnings: reporter.warnings };
  } catch (err) {
    reporter.emit({ kind: 'stage', message: `Import failed (${(err as Error).message}); removing what this run created` });
    await rollback.run(reporter);
    throw signal.aborted ? signal.reason : err;
  }
}

/** Creates and fills the target of every drive that has one, in order, one stage each. */
async function convertDrives(plan: ImportPlan, drives: readonly TargetedDrive[], ctx: Omit<Parameters<typeof convertDrive>[1], 'archive'>): Promise<CreatedVolume[]> {
  const volumes: CreatedVolume[] = [];
  for (const [i, drive] of drives.entries()) {
    if (!drive.target) continue;
    ctx.signal.throwIfAborted();
    const p = drive.placed;
    const what = drive.kind === 'generated' ? 'Writing the OVF environment CD-ROM' : `${drive.kind === 'file' ? 'Converting' : 'Creating empty'} ${p.device}`;
    const from = drive.kind === 'file' ? ` (${drive.file.href}, ${drive.format})` : '';
    ctx.reporter.emit({ kind: 'stage', message: `${what} ${i + 1}/${drives.length}${from} to ${drive.target.name}` });
    volumes.push(await convertDrive(drive as TargetedDrive & { target: DriveTarget }, { ...ctx, archive: plan.archive }));
  }
  return volumes;
}
