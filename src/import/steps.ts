// The steps of an import that do not depend on how the package is read: plan, draft the domain,
// check the host, then create it (fill the targets, define, start) under one rollback.
import { randomUUID } from 'node:crypto';
import { rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Archive } from '../archive/model.js';
import { UsageError } from '../errors.js';
import { RunJournal } from '../journal/journal.js';
import { defineDomain, giveUpOnAbort, isUnreachable, lookupDomainByUUID, onAnsweringConnection, removeDomainByUUID, VIR_DOMAIN_UNDEFINE_NVRAM, VIR_DOMAIN_UNDEFINE_TPM, type Connection, type Domain } from '../libvirt/index.js';
import type { Reporter } from '../report.js';
import type { TargetStore } from '../storage/volumes.js';
import { buildDomainXml } from './build-domain.js';
import type { CreatedVolume } from './convert.js';
import { reportStaleRuns } from '../journal/stale.js';
import { checkHost, chooseVirtType, connect, openStore, withVirtTypeAdvice } from './host.js';
import { withMacPolicy } from './macs.js';
import type { ImportResult, ResolvedImportOptions } from './options.js';
import { planArchive, planImport, type ImportPlan } from './plan.js';
import { Rollback, withAbort } from '../rollback.js';
import type { TransferChoice } from '../transfer/choose.js';
import { chooseDataPath, dataPathLine } from './data-path.js';
import { assignTargets, destinationFor, volumeFormat, type TargetedDrive } from './targets.js';
import { checkSignature } from './verify.js';

/** The domain as it will be defined: its drives with their targets, UUID, type and XML. */
export interface DomainDraft {
  readonly drives: readonly TargetedDrive[];
  readonly store?: TargetStore;
  readonly virtType: 'kvm' | 'qemu';
  readonly uuid: string;
  readonly xml: string;
}

/** A drive after conversion: the volume made for it, when it has a target. */
export type ConvertedDrive = TargetedDrive & { readonly volume?: CreatedVolume };

/** How importPlanned fills the targets, and whether the signature is checked before anything is created or by `fill` itself. */
export interface FillPlan {
  readonly signature: 'before' | 'after';
  fill(plan: ImportPlan, draft: DomainDraft & { readonly store: TargetStore; readonly transfer: TransferChoice }): FillTargets;
}

/**
 * Steps 3-8 of an import once the package is planned: the MAC policy, draft the domain (printXml
 * stops here), check the host and (signature 'before') the signature (dryRun stops here), then
 * createDomain with `how.fill`.
 * @throws as importPackage (import.ts).
 */
export async function importPlanned(opts: ResolvedImportOptions, reporter: Reporter, opened: ImportPlan, how: FillPlan): Promise<ImportResult> {
  const conn = connect(opts, reporter);
  try {
    // The OVF's MACs: kept, dropped, or (auto) kept unless a domain on the host has them (printXml asks no host).
    const plan = await withMacPolicy(opts.printXml ? undefined : conn, opened, opts.macPolicy, reporter);
    // 3. Draft the domain: type, store, each drive's target, UUID, XML. printXml stops here.
    const draft = await draftDomain(conn, plan, opts, reporter);
    if (opts.printXml) return result(plan, draft, { uuid: '', warnings: plan.warnings });
    // 4. Check the host (names, space, networks) and the package signature. dryRun stops here.
    const store = draft.store!;
    reportStaleRuns(reporter, opts.stateDir);
    const transfer = await checkBeforeCreating(conn!, plan, draft.drives, store, { ...opts, verify: opts.verify && how.signature === 'before' }, reporter);
    if (opts.dryRun) {
      reporter.emit({ kind: 'stage', message: 'Dry run: nothing was created' });
      return result(plan, draft, { warnings: plan.warnings });
    }
    // 5-8. Fill the targets, define, start; rolled back on failure.
    // A pool reached through streams is on another host: its paths are never touched here.
    const target = transfer.path === 'stream' && store.kind === 'pool' ? { ...store, notHere: true } : store;
    return await withAbort(opts, (signal) => createDomain(conn!, plan, { ...draft, store: target }, opts, reporter, signal, how.fill(plan, { ...draft, store: target, transfer })));
  } finally {
    conn?.close();
  }
}

/**
 * Step 2: opens the package (or takes `archive`, already open) and plans the domain; refuses a package with a EULA the caller did not accept.
 * @throws what planImport throws; UsageError (option `acceptEula`) for an unaccepted EULA.
 */
export async function openPackage(opts: ResolvedImportOptions, reporter: Reporter, archive?: Archive): Promise<ImportPlan> {
  reporter.emit({ kind: 'stage', message: `Opening ${opts.source}` });
  const planOpts = { ...opts, descriptorOnly: opts.printXml === true || opts.dryRun === true };
  const plan = await (archive ? planArchive(archive, planOpts) : planImport(planOpts));
  for (const w of plan.warnings) reporter.emit({ kind: 'warning', message: w });
  if (plan.eulas.length > 0 && !opts.acceptEula && !opts.printXml) {
    throw new UsageError(`${opts.source} has a license agreement (EulaSection); read it with inspect, then accept it`, { option: 'acceptEula' });
  }
  const m = plan.mapped;
  reporter.emit({ kind: 'stage', message: `VirtualSystem "${plan.virtualSystem.id}" (${plan.producer}): ${m.vcpus} vCPU, ${m.memoryBytes / 2 ** 20} MiB, ${m.firmware}, ${plan.drives.length} drive(s), ${m.nics.length} NIC(s)` });
  return plan;
}

/** Step 3: chooses the domain type, the store and each drive's target, a UUID free on the host, and builds the XML. */
export async function draftDomain(conn: Connection | undefined, plan: ImportPlan, opts: ResolvedImportOptions, reporter: Reporter): Promise<DomainDraft> {
  const virtType = await chooseVirtType(conn, opts.virtType, reporter);
  const { store, drives } = await targetDrives(conn, plan, opts);
  let uuid = randomUUID();
  while (conn && !opts.printXml && lookupDomainByUUID(conn, uuid)) uuid = randomUUID();
  const xml = buildDomainXml(plan, drives, { type: virtType, uuid, ...(opts.serialLog ? { serialLog: opts.serialLog } : {}) });
  return { drives, virtType, uuid, xml, ...(store ? { store } : {}) };
}

/**
 * The store (openStore: the output directory, or the pool looked up and checked) and each drive's
 * target in it (name and format by the pool type's rules, targets.ts); no store without a
 * connection or with printXml. Shared by draftDomain and inspect.
 * @throws what openStore, destinationFor, volumeFormat and assignTargets throw (LibvirtSetupError, option `pool`; UsageError, option `volumeFormat`).
 */
export async function targetDrives(conn: Connection | undefined, plan: ImportPlan, opts: ResolvedImportOptions): Promise<{ store?: TargetStore; drives: TargetedDrive[] }> {
  const store = await openStore(conn, opts);
  const destination = store ? await destinationFor(store, plan.mappings.pools, plan.drives.length) : { kind: 'pool' as const, pool: opts.pool };
  const drives = assignTargets(plan.drives, destination, volumeFormat(destination, plan.mappings, opts.volumeFormat), plan.mappings, opts.existingVolumes, opts.overwriteVolumes === true);
  return { drives, ...(store ? { store } : {}) };
}

/** Step 4: the host checks (checkHost), each disk's data path (chooseTransfer), then the signature when verification is on (checkSignature). */
export async function checkBeforeCreating(conn: Connection, plan: ImportPlan, drives: readonly TargetedDrive[], store: TargetStore, opts: ResolvedImportOptions, reporter: Reporter): Promise<TransferChoice> {
  reporter.emit({ kind: 'stage', message: `Checking the host: names, free space and networks for ${store.kind === 'pool' ? `pool "${store.poolName}"` : store.dir}` });
  await checkHost(conn, plan, drives, store, opts);
  // An rbd pool's images are written here by QEMU's rbd driver, never streamed (pools.json transfer qemu-rbd).
  const path = await chooseDataPath(store, drives, plan.mappings.pools, opts.transfer ?? 'auto', conn.uri());
  for (const { target, placed } of drives) if (target) reporter.emit({ kind: 'stage', message: dataPathLine(placed.device, target.existing ? `${target.name} (existing volume, written raw)` : target.name, path) });
  const transfer = path.transfer;
  if (opts.verify) await checkSignature(plan, { reporter, ...(opts.caFile !== undefined ? { caFile: opts.caFile } : {}), ...(opts.requireSignature ? { requireSignature: true } : {}) });
  return transfer;
}

/**
 * Fills the targets of a draft (creating each volume, registered with the run's rollback) and
 * returns the drives with their volumes: the indexed import converts while the manifest is
 * verified (import.ts), the one-pass import as the members stream by (sequential.ts).
 */
export type FillTargets = (rollback: Rollback, signal: AbortSignal) => Promise<ConvertedDrive[]>;

/**
 * Steps 5-8: fill the targets (`fill`), define, start; everything created is registered with a
 * rollback run on failure or abort, and the run journal is committed only at the end.
 * @throws what `fill`, define or start throw, or the signal's reason, after the rollback.
 */
export async function createDomain(conn: Connection, plan: ImportPlan, draft: DomainDraft & { store: TargetStore }, opts: ResolvedImportOptions, reporter: Reporter, signal: AbortSignal, fill: FillTargets): Promise<ImportResult> {
  const { store } = draft;
  const rollback = new Rollback(RunJournal.start({ uri: conn.uri(), command: `import ${opts.source}`, ...(opts.stateDir !== undefined ? { stateDir: opts.stateDir } : {}) }));
  // An abort gives up a libvirt call that does not answer (a hung daemon), so the rollback starts in time.
  const stopWatching = giveUpOnAbort(conn, signal);
  try {
    // 5-6. Fill the targets (and verify the manifest); a failure stops everything.
    const converted = await fill(rollback, signal);
    // 7. Define.
    signal.throwIfAborted();
    const { domain, xmlFile } = await define(conn, plan, draft, rollback, reporter);
    // 8. Start.
    if (opts.start) {
      signal.throwIfAborted();
      reporter.emit({ kind: 'stage', message: `Starting domain ${plan.name}` });
      await domain.start().catch((err: unknown) => Promise.reject(withVirtTypeAdvice(err, draft.virtType, 'start')));
    }
    // A signal that arrived during the last call still undoes the run: nothing is kept until commit.
    signal.throwIfAborted();
    rollback.commit();
    domain.free();
    if (store.kind === 'pool') await store.pool.refresh().catch(() => undefined);
    reporter.emit({ kind: 'stage', message: `Finished: domain ${plan.name} ${opts.start ? 'defined and started' : 'defined'}` });
    const volumes = converted.flatMap((d) => (d.volume ? [d.volume] : []));
    return result(plan, draft, { defined: true, started: opts.start === true, volumes, warnings: reporter.warnings, ...(xmlFile ? { xmlFile } : {}) });
  } catch (err) {
    // Once aborted, the signal is the cause: a child that died of the same Ctrl-C (its process group) is not.
    const cause = signal.aborted ? signal.reason : err;
    reporter.emit({ kind: 'stage', message: `Import failed (${(cause as Error).message}); removing what this run created` });
    await rollback.run(reporter);
    throw cause;
  } finally {
    stopWatching();
  }
}

/**
 * Step 7: writes DOMAIN.xml into an output directory, then defines the domain
 * (virDomainDefineXML); each is journaled before it is made and joins the rollback. A define
 * that fails leaves its journal entry only when the UUID is then found (or cannot be looked up).
 */
async function define(conn: Connection, plan: ImportPlan, draft: DomainDraft & { store: TargetStore }, rollback: Rollback, reporter: Reporter): Promise<{ domain: Domain; xmlFile?: string }> {
  let xmlFile: string | undefined;
  if (draft.store.kind === 'dir') {
    const file = join(draft.store.dir, `${plan.name}.xml`);
    const entry = rollback.record({ kind: 'file', path: file });
    await writeFile(file, draft.xml, { flag: 'wx' }).catch((err: unknown) => {
      rollback.dropped(entry);
      throw err;
    });
    const st = await stat(file);
    rollback.created(entry, { dev: st.dev, ino: st.ino });
    rollback.add(`file ${file}`, () => rm(file, { force: true }), entry);
    xmlFile = file;
  }
  reporter.emit({ kind: 'stage', message: `Defining domain ${plan.name}` });
  // Journaled and registered first: a define given up on (SIGINT, libvirtd gone) may still have
  // happened. The UUID is this run's. On a connection libvirt already closed, the define cannot be sent.
  const entry = rollback.record({ kind: 'domain', uuid: draft.uuid, name: plan.name });
  if (conn.health === 'dead') rollback.dropped(entry);
  else rollback.add(`domain ${plan.name}`, () => removeDomain(conn, draft.uuid, plan.name), entry);
  const domain = await defineDomain(conn, draft.xml).catch((err: unknown) => Promise.reject(withVirtTypeAdvice(err, draft.virtType, 'define')));
  rollback.created(entry);
  return { domain, ...(xmlFile ? { xmlFile } : {}) };
}

/**
 * Undo of the define: powers off and undefines the domain with this run's UUID, if libvirt has
 * one, on the run's connection or a fresh one (onAnsweringConnection).
 * @throws when libvirt fails, or cannot be reached: then the domain is kept for `virt-ovf cleanup`.
 */
async function removeDomain(conn: Connection, uuid: string, name: string): Promise<void> {
  try {
    await onAnsweringConnection(conn, (c) => removeDomainByUUID(c, uuid, VIR_DOMAIN_UNDEFINE_NVRAM | VIR_DOMAIN_UNDEFINE_TPM));
  } catch (err) {
    if (!isUnreachable(err)) throw err;
    throw new Error(`${(err as Error).message}; domain "${name}" (${uuid}), if libvirt defined it, is kept for virt-ovf cleanup`, { cause: err });
  }
}

/** The ImportResult of a draft; nothing defined or created unless `done` says so. */
export function result(plan: ImportPlan, draft: DomainDraft, done: Partial<ImportResult> & { warnings: readonly string[] }): ImportResult {
  return { domain: plan.name, uuid: draft.uuid, virtType: draft.virtType, defined: false, started: false, volumes: [], xml: draft.xml, ...done };
}
