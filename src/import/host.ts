// The host side of an import: the connection, the domain type, the store, and the checks made before anything is created.
import { join } from 'node:path';
import { LibvirtError, LibvirtSetupError } from '../errors.js';
import { Connection, lookupDomainByName, lookupNetwork, type Network } from '../libvirt/index.js';
import type { Reporter } from '../report.js';
import { openPool, targetExists, type TargetStore } from '../storage/volumes.js';
import { checkTempDir, tempDirOf, type ResolvedImportOptions } from './options.js';
import type { ImportPlan } from './plan.js';
import { checkImportSpace, storeDir, temporaryDataBytes } from './space.js';
import type { TargetedDrive } from './targets.js';

/** virErrorNumber VIR_ERR_NO_SUPPORT: the connection lacks a driver (e.g. no network driver in qemu:///embed). */
const VIR_ERR_NO_SUPPORT = 3;

/**
 * Opens the connection (virConnectOpen). With printXml a failure is a warning and the XML is
 * built without the host (undefined is returned).
 * @throws LibvirtError when the connection fails and printXml is off.
 */
export function connect(opts: ResolvedImportOptions, reporter: Reporter): Connection | undefined {
  try {
    const conn = Connection.open(opts.connect);
    reporter.emit({ kind: 'debug', message: `libvirt connection URI: ${conn.uri()}` });
    return conn;
  } catch (err) {
    if (!opts.printXml) throw err;
    reporter.emit({ kind: 'warning', message: `cannot connect to libvirt (${(err as Error).message}); printing XML without checking the host` });
    return undefined;
  }
}

/** The domain type: as asked, else kvm when the host's domain capabilities offer it, else qemu. */
export async function chooseVirtType(conn: Connection | undefined, wanted: 'kvm' | 'qemu' | undefined): Promise<'kvm' | 'qemu'> {
  if (wanted) return wanted;
  if (!conn) return 'qemu';
  return conn.domainCapabilities({ virttype: 'kvm' }).then(
    () => 'kvm' as const,
    () => 'qemu' as const,
  );
}

/**
 * Where the volumes go: the output directory, else the pool (looked up and checked; not with
 * printXml, which creates nothing), else undefined.
 * @throws LibvirtSetupError when the pool is missing or inactive (see openPool).
 */
export async function openStore(conn: Connection | undefined, opts: ResolvedImportOptions): Promise<TargetStore | undefined> {
  if (opts.outputDir !== undefined) return { kind: 'dir', dir: opts.outputDir };
  return conn && !opts.printXml ? openPool(conn, opts.pool) : undefined;
}

/**
 * Refuses, before anything is created: an existing domain or volume name, a temporary directory
 * that cannot serve (checkTempDir; checked when set, or when a drive needs a temporary copy),
 * too little free space for the volumes' data or the temporary copies (checkImportSpace), and a
 * libvirt network that is missing (or inactive when the domain is to start).
 * @throws LibvirtSetupError (option `name` for a taken name, `pool`/`outputDir`/`tempDir` for
 *   space, `networks` for a missing network, `userNetwork` when the connection has no network
 *   driver); UsageError (option `tempDir`) from checkTempDir.
 */
export async function checkHost(conn: Connection, plan: ImportPlan, drives: readonly TargetedDrive[], store: TargetStore, opts: ResolvedImportOptions): Promise<void> {
  const existing = lookupDomainByName(conn, plan.name);
  if (existing) {
    existing.free();
    throw new LibvirtSetupError(`a domain named "${plan.name}" already exists; choose another name`, { option: 'name' });
  }
  for (const { target } of drives) {
    if (target && (await targetExists(store, target.name))) {
      const what = store.kind === 'pool' ? `volume "${target.name}" already exists in pool "${store.poolName}"` : `${join(store.dir, target.name)} already exists`;
      throw new LibvirtSetupError(`${what}; choose another domain name`, { option: 'name' });
    }
  }
  // Temporary copies go to the temporary directory, never into the store; space is checked once for all drives.
  const tempDir = tempDirOf(opts);
  if (opts.tempDir !== undefined || drives.some((d) => temporaryDataBytes(d, plan.archive) > 0)) {
    const dir = storeDir(store);
    const what = store.kind === 'pool' ? `pool "${store.poolName}"` : 'the output directory';
    await checkTempDir(tempDir, opts.tempDir !== undefined, dir !== undefined ? [{ path: dir, what }] : []);
  }
  await checkImportSpace(drives, { archive: plan.archive, store, tempDir, domain: plan.name });
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
    if (!net) {
      throw new LibvirtSetupError(
        `libvirt network "${nic.source.network}" (for OVF network "${nic.ovfNetwork ?? '(none)'}") does not exist; create it with virsh net-define, or attach OVF network "${ovfNetwork}" to a host bridge or another network`,
        { option: 'networks' },
      );
    }
    const active = net.isActive();
    net.free();
    if (!active && opts.start) throw new LibvirtSetupError(`libvirt network "${nic.source.network}" is not active; start it with: virsh net-start ${nic.source.network}`);
  }
}
