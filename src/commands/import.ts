// The import pipeline, top-down: open package, parse, map, check libvirt, convert disks, verify, define, start.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { domainToXml } from '../domain/xml.js';
import { LibvirtError, LibvirtSetupError, UsageError } from '../errors.js';
import { Connection, resolveUri, defineDomain, lookupDomainByName, lookupDomainByUUID, lookupNetwork, VIR_DOMAIN_UNDEFINE_NVRAM, VIR_DOMAIN_UNDEFINE_TPM, type Network } from '../libvirt/index.js';
import type { Reporter } from '../report.js';
import { convertImage, imageInfo } from '../storage/qemu-img.js';
import { checkFreeSpace, checkImage } from '../storage/image-check.js';
import { makeIso } from '../storage/iso.js';
import { prepareDeltaChain, prepareSource, type PreparedSource } from '../storage/sources.js';
import { createTarget, defaultFormat, openPool, targetExists, type TargetStore } from '../storage/volumes.js';
import { buildDomainSpec, targetFormat, targetName, type ResolvedSource } from './build-domain.js';
import { checkSignature, startVerification } from './verify.js';
import { planImport, type PlanOptions, type ImportPlan } from './plan.js';
import { Rollback, withSignals } from './rollback.js';

/** Options of `virt-ovf import` (see man/virt-ovf.1). */
export interface ImportOptions extends PlanOptions {
  /** Connection URI (-c); undefined: LIBVIRT_DEFAULT_URI, then libvirt's default. */
  readonly connect?: string;
  /** Storage pool for the volumes (--pool). */
  readonly pool: string;
  /** Write disks and DOMAIN.xml here instead of a pool (--output-dir). */
  readonly outputDir?: string;
  readonly virtType?: 'kvm' | 'qemu';
  readonly start?: boolean;
  readonly printXml?: boolean;
  readonly dryRun?: boolean;
  /** Verify the manifest (default true; --no-verify turns it off with a warning). */
  readonly verify: boolean;
  /** Also log the serial console to this host file (--serial-log). */
  readonly serialLog?: string;
  /** Directory for temporary files of compressed or chunked disks (default: next to the volumes, else $TMPDIR). */
  readonly tempDir?: string;
  /** The user accepts the package's EULA (--accept-eula); required when it has one. */
  readonly acceptEula?: boolean;
  /** PEM bundle of trusted CAs for the package signature (--ca); default: the system store. */
  readonly caFile?: string;
  /** Refuse an unsigned package, or one whose certificate is expired, self-signed or untrusted (--require-signature). */
  readonly requireSignature?: boolean;
}

/** What import did. Sizes in bytes. */
export interface ImportResult {
  readonly domain: string;
  readonly uuid: string;
  readonly virtType: 'kvm' | 'qemu';
  readonly defined: boolean;
  readonly started: boolean;
  readonly volumes: readonly { name: string; path: string; format: string; capacityBytes: number }[];
  readonly xml: string;
  readonly xmlFile?: string;
  readonly warnings: readonly string[];
}

async function chooseVirtType(conn: Connection | undefined, wanted: ImportOptions['virtType']): Promise<'kvm' | 'qemu'> {
  if (wanted) return wanted;
  if (!conn) return 'qemu';
  return conn.domainCapabilities({ virttype: 'kvm' }).then(
    () => 'kvm' as const,
    () => 'qemu' as const,
  );
}

/**
 * Runs an import. Everything created (volumes, files, the domain) is removed again when any
 * later step fails or SIGINT/SIGTERM arrives; nothing that existed before is touched.
 * @throws the VirtOvfError subclass matching the failure (see errors.ts and EXIT STATUS).
 */
export async function runImport(opts: ImportOptions, reporter: Reporter): Promise<ImportResult> {
  if (opts.outputDir && opts.pool !== 'default') throw new UsageError('--pool and --output-dir exclude each other');
  const uri = resolveUri(opts.connect);
  if (opts.start && uri?.includes(':///embed')) {
    // The embedded driver would fork QEMU from this Node process, whose libuv fork handler
    // closes libvirt's sync pipe; virsh (same root) starts it fine.
    throw new UsageError(`--start is not supported with ${uri}: start the domain afterwards with virsh -c '${uri}' start NAME`);
  }
  reporter.emit({ kind: 'stage', message: `Opening ${opts.source}` });
  const plan = await planImport({ ...opts, descriptorOnly: opts.printXml === true || opts.dryRun === true });
  for (const w of plan.warnings) reporter.emit({ kind: 'warning', message: w });
  if (plan.eulas.length > 0 && !opts.acceptEula && !opts.printXml) {
    throw new UsageError(`${opts.source} has a license agreement (EulaSection); read it with: virt-ovf inspect ${opts.source} --json, then import with --accept-eula`);
  }
  const m = plan.mapped;
  reporter.emit({ kind: 'stage', message: `VirtualSystem "${plan.virtualSystem.id}" (${plan.envelope.producer}): ${m.vcpus} vCPU, ${m.memoryBytes / 2 ** 20} MiB, ${m.firmware}, ${plan.disks.length} drive(s), ${m.nics.length} NIC(s)` });

  let conn: Connection | undefined;
  try {
    try {
      conn = Connection.open(opts.connect);
    } catch (err) {
      if (!opts.printXml) throw err;
      reporter.emit({ kind: 'warning', message: `cannot connect to libvirt (${(err as Error).message}); printing XML without checking the host` });
    }
    const virtType = await chooseVirtType(conn, opts.virtType);
    const store: TargetStore | undefined = opts.outputDir ? { kind: 'dir', dir: opts.outputDir } : conn && !opts.printXml ? await openPool(conn, opts.pool) : undefined;
    const format = opts.volumeFormat ?? (store ? defaultFormat(store) : 'qcow2');
    const names = plan.disks.map((d) => (d.file || d.generated || d.planned.device === 'disk' ? targetName(d, targetFormat(d, format)) : undefined));
    const predicted: ResolvedSource[] = plan.disks.map((d, i) => ({
      format: targetFormat(d, format),
      source: names[i] === undefined ? { type: 'none' } : opts.outputDir ? { type: 'file', path: join(opts.outputDir, names[i]!) } : { type: 'volume', pool: opts.pool, volume: names[i]! },
    }));
    if (opts.printXml) {
      const xml = domainToXml(buildDomainSpec(plan, { type: virtType, uuid: randomUUID(), sources: predicted, ...(opts.serialLog ? { serialLog: opts.serialLog } : {}) }), plan.mappings.domain, meta(plan, opts));
      return { domain: plan.name, uuid: '', virtType, defined: false, started: false, volumes: [], xml, warnings: plan.warnings };
    }
    await checkHost(conn!, plan, store!, names, opts);
    if (opts.verify) await checkSignature(plan, { reporter, ...(opts.caFile !== undefined ? { caFile: opts.caFile } : {}), ...(opts.requireSignature ? { requireSignature: true } : {}) });
    else if (opts.requireSignature) throw new UsageError('--require-signature and --no-verify exclude each other');
    let uuid = randomUUID();
    while (lookupDomainByUUID(conn!, uuid)) uuid = randomUUID();
    if (opts.dryRun) {
      const xml = domainToXml(buildDomainSpec(plan, { type: virtType, uuid, sources: predicted, ...(opts.serialLog ? { serialLog: opts.serialLog } : {}) }), plan.mappings.domain, meta(plan, opts));
      reporter.emit({ kind: 'stage', message: 'Dry run: nothing was created' });
      return { domain: plan.name, uuid, virtType, defined: false, started: false, volumes: [], xml, warnings: plan.warnings };
    }
    return await withSignals((signal) => convertAndDefine(conn!, plan, store!, { opts, format, names, predicted, uuid, virtType, reporter, signal }));
  } finally {
    conn?.close();
  }
}

function meta(plan: ImportPlan, opts: ImportOptions) {
  return { source: plan.archive.source, virtualSystem: plan.virtualSystem.id, profile: opts.profile };
}

/** Refuses an existing domain or volume name and a missing network, before anything is created. */
async function checkHost(conn: Connection, plan: ImportPlan, store: TargetStore, names: readonly (string | undefined)[], opts: ImportOptions): Promise<void> {
  const existing = lookupDomainByName(conn, plan.name);
  if (existing) {
    existing.free();
    throw new LibvirtSetupError(`a domain named "${plan.name}" already exists; choose another name with --name`);
  }
  for (const name of names) {
    if (name !== undefined && (await targetExists(store, name))) {
      throw new LibvirtSetupError(`${store.kind === 'pool' ? `volume "${name}" already exists in pool "${store.poolName}"` : `${join(store.dir, name)} already exists`}; choose another domain name with --name`);
    }
  }
  // Space: the data each disk will hold (ovf:populatedSize, else at least its file's size),
  // checked once for all disks before the first volume is created.
  const needed = plan.disks.reduce((sum, d) => {
    if (!d.file) return sum;
    const fileBytes = plan.archive.find(d.file.href)?.size ?? d.file.sizeBytes ?? 0;
    return sum + (d.planned.ovfDisk?.populatedSizeBytes ?? (d.capacityBytes > 0 ? Math.min(d.capacityBytes, fileBytes) : fileBytes));
  }, 0);
  if (needed > 0) await checkFreeSpace(store.kind === 'pool' ? store.pool : { dir: store.dir }, needed, `the ${plan.disks.length} drive(s) of ${plan.name}`);
  for (const nic of plan.mapped.nics) {
    if (nic.source.type !== 'network') continue;
    let net: Network | null;
    try {
      net = lookupNetwork(conn, nic.source.network);
    } catch (err) {
      // VIR_ERR_NO_SUPPORT: no network driver on this connection (e.g. qemu:///embed).
      if (err instanceof LibvirtError && err.code === 3) {
        throw new LibvirtSetupError(`this connection has no network driver, so NICs cannot join libvirt network "${nic.source.network}"; use --user-net (QEMU user-mode networking) or --bridge "${nic.ovfNetwork ?? ''}=BRIDGE"`);
      }
      throw err;
    }
    if (!net) {
      throw new LibvirtSetupError(
        `libvirt network "${nic.source.network}" (for OVF network "${nic.ovfNetwork ?? '(none)'}") does not exist; map it with --network "${nic.ovfNetwork ?? ''}=NAME" or --bridge "${nic.ovfNetwork ?? ''}=BRIDGE", or create it with virsh net-define`,
      );
    }
    const active = net.isActive();
    net.free();
    if (!active && opts.start) throw new LibvirtSetupError(`libvirt network "${nic.source.network}" is not active; start it with: virsh net-start ${nic.source.network}`);
  }
}

interface ConvertContext {
  readonly opts: ImportOptions;
  readonly format: 'qcow2' | 'raw';
  readonly names: readonly (string | undefined)[];
  readonly predicted: readonly ResolvedSource[];
  readonly uuid: string;
  readonly virtType: 'kvm' | 'qemu';
  readonly reporter: Reporter;
  readonly signal: AbortSignal;
}

/** Writes ovf-env.xml onto an ISO in `dir` (default $TMPDIR) and returns it as a raw source. */
async function environmentIso(xml: string, dir: string | undefined): Promise<PreparedSource> {
  const work = await mkdtemp(join(dir ?? tmpdir(), 'virt-ovf-'));
  const path = join(work, 'ovf-env.iso');
  const release = () => rm(work, { recursive: true, force: true });
  try {
    await makeIso(path, 'OVF ENV', [{ name: 'ovf-env.xml', content: xml }]);
  } catch (err) {
    await release();
    throw err;
  }
  const { size } = await stat(path);
  return { source: { path, offset: 0, size, format: 'raw', label: 'the OVF environment ISO' }, temporary: true, release };
}

async function convertAndDefine(conn: Connection, plan: ImportPlan, store: TargetStore, ctx: ConvertContext): Promise<ImportResult> {
  const { opts, reporter } = ctx;
  const rollback = new Rollback();
  // A failed verification aborts the conversions at once.
  const failed = new AbortController();
  const signal = AbortSignal.any([ctx.signal, failed.signal]);
  const verification = startVerification(plan, { verify: opts.verify, reporter, signal });
  verification.catch((err: unknown) => failed.abort(err));
  try {
    const sources: ResolvedSource[] = [];
    const volumes: ImportResult['volumes'][number][] = [];
    const tempDir = opts.tempDir ?? (store.kind === 'dir' ? store.dir : store.poolPath);
    for (const [i, disk] of plan.disks.entries()) {
      const name = ctx.names[i];
      const fmt = ctx.predicted[i]!.format;
      if (name === undefined) {
        sources.push(ctx.predicted[i]!);
        continue;
      }
      signal.throwIfAborted();
      const what = disk.generated ? 'Writing the OVF environment CD-ROM' : `${disk.file ? 'Converting' : 'Creating empty'} ${disk.planned.device}`;
      reporter.emit({ kind: 'stage', message: `${what} ${i + 1}/${plan.disks.length}${disk.file ? ` (${disk.file.href}, ${disk.sourceFormat})` : ''} to ${name}` });
      const prepared = disk.generated
        ? await environmentIso(plan.ovfEnvironment!, tempDir)
        : disk.file && disk.parents
          ? await prepareDeltaChain(plan.archive, disk.file, disk.parents, {
              ...(tempDir ? { tempDir } : {}),
              signal,
              check: (src, isDelta) => checkImage(src, { declaredFormat: 'vmdk', allowParentHint: isDelta, signal }),
            })
        : disk.file
          ? await prepareSource(plan.archive, disk.file, disk.sourceFormat!, { ...(tempDir ? { tempDir } : {}), maxBytes: Math.ceil(Math.max(disk.capacityBytes, 1) * 1.1) + 64 * 2 ** 20, signal })
          : undefined;
      try {
        if (prepared && disk.file && !disk.parents) {
          // The image's own header is read before qemu-img sees it: extents, backing files,
          // data files, differencing disks and absurd sizes are refused here (issue: hostile input).
          const checked = await checkImage(prepared.source, { declaredFormat: disk.sourceFormat!, ...(disk.capacityBytes > 0 ? { capacityBytes: disk.capacityBytes } : {}), signal });
          for (const w of checked.warnings) reporter.emit({ kind: 'warning', message: w });
        }
        const info = prepared ? await imageInfo(prepared.source, { signal }) : undefined;
        const capacityBytes = Math.max(disk.capacityBytes, info?.virtualSizeBytes ?? 0);
        if (capacityBytes === 0) throw new LibvirtSetupError(`${disk.planned.device} ${disk.planned.instanceId} has neither a file nor a capacity`);
        const target = await createTarget(store, name, fmt, capacityBytes);
        rollback.add(`${store.kind === 'pool' ? 'volume' : 'file'} ${name}`, () => target.remove());
        if (prepared) {
          await convertImage({
            src: prepared.source,
            target: target.path,
            targetFormat: fmt,
            existingTarget: true,
            signal,
            onProgress: (pct) => reporter.emit({ kind: 'progress', task: 'convert', name, bytesDone: Math.round((pct / 100) * capacityBytes), bytesTotal: capacityBytes }),
          });
          reporter.emit({ kind: 'progress-end', task: 'convert', name });
        }
        sources.push({ source: target.source, format: fmt });
        volumes.push({ name, path: target.path, format: fmt, capacityBytes });
      } finally {
        await prepared?.release();
      }
    }
    await verification;
    const xml = domainToXml(buildDomainSpec(plan, { type: ctx.virtType, uuid: ctx.uuid, sources, ...(opts.serialLog ? { serialLog: opts.serialLog } : {}) }), plan.mappings.domain, meta(plan, opts));
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
    return { domain: plan.name, uuid: ctx.uuid, virtType: ctx.virtType, defined: true, started, volumes, xml, ...(xmlFile ? { xmlFile } : {}), warnings: reporter.warnings };
  } catch (err) {
    reporter.emit({ kind: 'stage', message: `Import failed (${(err as Error).message}); removing what this run created` });
    await verification.catch(() => undefined);
    await rollback.run(reporter);
    throw signal.aborted ? signal.reason : err;
  }
}
