// The host side of an import: the connection, the domain type, the store, and the checks made before anything is created.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { LibvirtError, LibvirtSetupError } from '../errors.js';
import { staleHolder, staleRemedy } from '../journal/stale.js';
import { Connection, lookupDomainByName, lookupNetwork, lookupPool, type Network } from '../libvirt/index.js';
import { checkUserDirectory } from '../os-error.js';
import type { Reporter } from '../report.js';
import { openPool, targetExists, type TargetStore } from '../storage/volumes.js';
import { connectError, inactiveNetworkError, inactivePoolError, isLocalUri, missingNetworkError, missingPoolError } from './advice.js';
import { kvmProblem } from './kvm.js';
import { checkTempDir, tempDirOf, type ResolvedImportOptions } from './options.js';
import type { ImportPlan } from './plan.js';
import { checkImportSpace, storeDir, temporaryDataBytes } from './space.js';
import { checkExistingVolumes } from './existing-volumes.js';
import { streamsThroughQemuNbd } from './stream-convert.js';
import type { TargetedDrive } from './targets.js';

/** virErrorNumber VIR_ERR_NO_SUPPORT: the connection lacks a driver (e.g. no network driver in qemu:///embed). */
const VIR_ERR_NO_SUPPORT = 3;

/**
 * Opens the connection (virConnectOpen). With printXml a failure is a warning and the XML is
 * built without the host (undefined is returned).
 * @throws LibvirtSetupError saying what fixes it for this user and URI (advice.ts connectError)
 *   when the connection fails and printXml is off.
 */
export function connect(opts: ResolvedImportOptions, reporter: Reporter): Connection | undefined {
  try {
    const conn = Connection.open(opts.connect);
    reporter.emit({ kind: 'debug', message: `libvirt connection URI: ${conn.uri()}` });
    return conn;
  } catch (err) {
    if (!opts.printXml) throw err instanceof LibvirtError ? connectError(err, opts.connect) : err;
    reporter.emit({ kind: 'warning', message: `cannot connect to libvirt (${(err as Error).message}); printing XML without checking the host` });
    return undefined;
  }
}

/**
 * The domain type: as asked, else kvm when it will work (kvm.ts kvmProblem: the domain
 * capabilities offer it and QEMU's user can open /dev/kvm), else qemu. When kvm is offered but
 * cannot work, a warning says why.
 */
export async function chooseVirtType(conn: Connection | undefined, wanted: 'kvm' | 'qemu' | undefined, reporter?: Reporter): Promise<'kvm' | 'qemu'> {
  if (wanted) return wanted;
  if (!conn) return 'qemu';
  const problem = await kvmProblem(conn);
  if (problem?.offered) reporter?.emit({ kind: 'warning', message: `kvm is offered by the domain capabilities but will not work: ${problem.reason}; the domain gets type qemu (emulation, slower)` });
  return problem ? 'qemu' : 'kvm';
}

/**
 * `err` from starting a domain of type kvm (or defining one, when libvirt's message names kvm),
 * with the way out: domain type qemu (option `virtType`). Any other error is returned as it is.
 */
export function withVirtTypeAdvice(err: unknown, virtType: 'kvm' | 'qemu', step: 'define' | 'start'): unknown {
  if (virtType !== 'kvm' || !(err instanceof LibvirtError) || (step === 'define' && !/\bkvm\b/i.test(err.message))) return err;
  return new LibvirtSetupError(`${err.message}; QEMU may be unable to use KVM on this host; choose domain type qemu`, { cause: err, option: 'virtType' });
}

/**
 * Where the volumes go: the output directory, else the pool (looked up and checked; not with
 * printXml, which creates nothing), else undefined.
 * @throws LibvirtSetupError when the pool is missing (naming the pools that exist, advice.ts) or
 *   inactive; what openPool throws.
 */
export async function openStore(conn: Connection | undefined, opts: ResolvedImportOptions): Promise<TargetStore | undefined> {
  if (opts.outputDir !== undefined) return { kind: 'dir', dir: opts.outputDir };
  if (!conn || opts.printXml) return undefined;
  let pool;
  try {
    pool = lookupPool(conn, opts.pool);
  } catch {
    return openPool(conn, opts.pool); // no storage driver: openPool says so
  }
  if (!pool) throw await missingPoolError(conn, opts.pool, opts.connect);
  const active = pool.isActive();
  pool.free();
  if (!active) throw inactivePoolError(conn, opts.pool, opts.connect);
  return openPool(conn, opts.pool);
}

/**
 * Refuses a store that cannot take files before anything is made: an output directory that is
 * missing, not a directory or not writable (FileError, exit 2, option `outputDir`); a local
 * pool's directory on a read-only filesystem (LibvirtSetupError, exit 4).
 */
async function checkStoreWritable(conn: Connection, store: TargetStore): Promise<void> {
  if (store.kind === 'dir') return checkUserDirectory(store.dir, { named: `output directory ${store.dir}`, what: 'output directory', option: 'outputDir', writable: true });
  if (store.poolPath === undefined || !['dir', 'fs', 'netfs'].includes(store.poolType) || !isLocalUri(conn.uri())) return;
  const err = await access(store.poolPath, constants.W_OK).then(() => undefined, (e: NodeJS.ErrnoException) => e);
  if (err?.code === 'EROFS') {
    throw new LibvirtSetupError(`storage pool "${store.poolName}": its directory ${store.poolPath} is on a read-only filesystem; remount it read-write, or choose another pool`, { option: 'pool', cause: err });
  }
}

/**
 * Refuses, before anything is created: a store that cannot take files, an existing domain or volume name, a temporary directory
 * that cannot serve (checkTempDir; checked when set, or when a drive needs a temporary copy),
 * too little free space for the volumes' data or the temporary copies (checkImportSpace), and a
 * libvirt network that is missing (or inactive when the domain is to start).
 * A name that an interrupted run (a stale journal, src/journal) still holds is refused with the
 * remedy `virt-ovf cleanup` instead. Existing volumes the admin named are checked instead of
 * names (checkExistingVolumes).
 * @throws LibvirtSetupError (option `name` for a taken name, `pool`/`outputDir`/`tempDir` for
 *   space or a read-only pool directory, `networks` or `userNetwork` (session) for a missing
 *   network, `userNetwork` when the connection has no network driver); FileError (option
 *   `outputDir` or `tempDir`) for a directory that cannot take files.
 */
export async function checkHost(conn: Connection, plan: ImportPlan, drives: readonly TargetedDrive[], store: TargetStore, opts: ResolvedImportOptions): Promise<void> {
  await checkStoreWritable(conn, store);
  const taken = (what: string, held: ReturnType<typeof staleHolder>, remedy: string): LibvirtSetupError =>
    held ? new LibvirtSetupError(`${what}${staleRemedy(held)}`) : new LibvirtSetupError(`${what}; ${remedy}`, { option: 'name' });
  const existing = lookupDomainByName(conn, plan.name);
  if (existing) {
    existing.free();
    throw taken(`a domain named "${plan.name}" already exists`, staleHolder(conn.uri(), { kind: 'domain', name: plan.name }, opts.stateDir), 'choose another name');
  }
  for (const { target } of drives) {
    if (target && !target.existing && (await targetExists(store, target.name))) {
      const what = store.kind === 'pool' ? `volume "${target.name}" already exists in pool "${store.poolName}"` : `${join(store.dir, target.name)} already exists`;
      const held = store.kind === 'pool' ? staleHolder(conn.uri(), { kind: 'volume', pool: store.poolName, name: target.name }, opts.stateDir) : staleHolder(conn.uri(), { kind: 'file', path: join(store.dir, target.name) }, opts.stateDir);
      throw taken(what, held, 'choose another domain name');
    }
  }
  await checkExistingVolumes(store, drives, { pools: plan.mappings.pools, ...(opts.overwriteVolumes ? { overwrite: true } : {}) });
  // Temporary copies (and qemu-nbd's socket) go to the temporary directory, never into the store; space is checked once for all drives.
  const tempDir = tempDirOf(opts);
  if (opts.tempDir !== undefined || drives.some((d) => temporaryDataBytes(d, plan.archive, opts.converter) > 0 || streamsThroughQemuNbd(d, opts.converter))) {
    const dir = storeDir(store);
    const what = store.kind === 'pool' ? `pool "${store.poolName}"` : 'the output directory';
    await checkTempDir(tempDir, opts.tempDir !== undefined, dir !== undefined ? [{ path: dir, what }] : []);
  }
  await checkImportSpace(drives, { archive: plan.archive, store, tempDir, domain: plan.name, ...(opts.converter ? { converter: opts.converter } : {}) });
  for (const nic of plan.mapped.nics) {
    if (nic.source.type !== 'network') continue;
    const ovfNetwork = nic.ovfNetwork ?? '';
    let net: Network | null;
    try {
      net = lookupNetwork(conn, nic.source.network);
    } catch (err) {
      if (err instanceof LibvirtError && err.code === VIR_ERR_NO_SUPPORT) {
        throw new LibvirtSetupError(`this connection has no network driver, so NICs cannot join libvirt network "${nic.source.network}"; attach OVF network "${ovfNetwork}" to a host bridge, or use QEMU user-mode networking`, { option: 'userNetwork' });
      }
      throw err;
    }
    if (!net) throw await missingNetworkError(conn, nic.source.network, nic.ovfNetwork, opts.connect);
    const active = net.isActive();
    net.free();
    if (!active && opts.start) throw inactiveNetworkError(conn, nic.source.network, opts.connect);
  }
}
