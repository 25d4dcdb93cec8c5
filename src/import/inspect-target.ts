// inspect with a pool (or output directory): the volume each disk would get, its data path and why, and whether the free space suffices; nothing is created.
import { LibvirtSetupError, UsageError } from '../errors.js';
import { silentReporter } from '../report.js';
import { freeSpace } from '../storage/free-space.js';
import { targetExists, type TargetStore } from '../storage/volumes.js';
import { chooseDataPath } from './data-path.js';
import { connect } from './host.js';
import { checkUsage, tempDirOf, withDefaults, type InspectOptions, type ResolvedImportOptions } from './options.js';
import type { ImportPlan } from './plan.js';
import { checkImportSpace, volumeDataBytes } from './space.js';
import { targetDrives } from './steps.js';
import type { TargetedDrive } from './targets.js';

/** Where import would put the disks and how (InspectReport `target`). Sizes in bytes. */
export interface InspectTarget {
  /** The connection URI the pool was read through; absent for an output directory (read here, without libvirt). */
  readonly uri?: string;
  /** The pool and its libvirt type; absent for an output directory. */
  readonly pool?: { readonly name: string; readonly type: string };
  /** The output directory; absent for a pool. */
  readonly dir?: string;
  /** One per drive that gets a volume (an empty CD-ROM gets none), in the order of `disks`. */
  readonly volumes: readonly InspectVolume[];
  /**
   * The volumes' data (what import's free-space check counts: space.ts volumeDataBytes) against
   * the free bytes of the pool (virStoragePoolGetInfo available) or directory (statfs);
   * `sufficient` is import's whole check (temporary copies included), `problem` its refusal.
   */
  readonly space: { readonly neededBytes: number; readonly availableBytes?: number; readonly sufficient: boolean; readonly problem?: string };
}

/** The volume of one drive and its data path, in the words import --dry-run says them. */
export interface InspectVolume {
  /** The drive's target dev (`disks[].dev`). */
  readonly dev: string;
  /** disk or cdrom. */
  readonly device: string;
  /** Volume (or file) name. */
  readonly name: string;
  readonly format: 'qcow2' | 'raw';
  /** `local` (written here at the volume's path), `stream` (libvirt stream, virStorageVolUpload), or the pool type's QEMU driver (pools.json transfer, e.g. `qemu-rbd`). */
  readonly dataPath: string;
  /** The same in words: "written here", "libvirt stream", "QEMU's rbd driver". */
  readonly via: string;
  /** Why that path (src/transfer/choose.ts, rbd.ts). */
  readonly reason: string;
  /** A volume of that name exists already: import would refuse it (never for an existing volume named with --volume). */
  readonly exists: boolean;
  /** An existing volume named with --volume (existingVolumes): written raw, checked by import before it writes. */
  readonly existing?: true;
}

/**
 * Refuses inspect's target options when they contradict each other (as import's checkUsage
 * does), or name a transfer or format without a pool or output directory.
 * @throws UsageError (option `transfer` or `volumeFormat`, or none for pool with outputDir).
 */
export function checkInspectUsage(opts: InspectOptions): void {
  if (opts.pool === undefined && opts.outputDir === undefined) {
    const stray = opts.transfer !== undefined ? 'transfer' : opts.volumeFormat !== undefined ? 'volumeFormat' : undefined;
    if (stray) throw new UsageError('inspect says how the disks reach a pool only when one is named; name the pool (or the output directory)', { option: stray });
    return;
  }
  checkUsage(resolved(opts));
}

/** True when inspect is to read a target (a pool or an output directory). */
export function wantsTarget(opts: InspectOptions): boolean {
  return opts.pool !== undefined || opts.outputDir !== undefined;
}

function resolved(opts: InspectOptions): ResolvedImportOptions {
  return { ...withDefaults(opts), dryRun: true };
}

/**
 * Reads the target of `plan` as import would: opens the connection (host.ts connect; not for an
 * output directory), the store and each drive's target (steps.ts targetDrives), the data path
 * (data-path.ts chooseDataPath), whether each volume exists, and the free space. Creates nothing,
 * writes no journal.
 * @throws what import throws for the same options before it creates anything: LibvirtSetupError
 *   for a connection that fails, a missing or inactive pool, a pool type import refuses, or
 *   transfer local into a pool not visible here; UsageError for transfer stream into a directory
 *   or a format the pool type does not take.
 */
export async function inspectTarget(plan: ImportPlan, opts: InspectOptions): Promise<InspectTarget> {
  const ropts = resolved(opts);
  const conn = opts.outputDir === undefined ? connect(ropts, silentReporter()) : undefined;
  try {
    const { store, drives } = await targetDrives(conn, plan, ropts);
    if (!store) throw new Error('inspect: no store opened for a pool or an output directory');
    const path = await chooseDataPath(store, drives, plan.mappings.pools, opts.transfer ?? 'auto', conn?.uri() ?? '');
    const volumes: InspectVolume[] = [];
    for (const d of drives) {
      if (!d.target) continue;
      volumes.push({ dev: d.placed.dev, device: d.placed.device, name: d.target.name, format: d.target.format, dataPath: path.kind, via: path.words, reason: path.transfer.reason, exists: !d.target.existing && (await targetExists(store, d.target.name)), ...(d.target.existing ? { existing: true as const } : {}) });
    }
    const where = store.kind === 'pool' ? { pool: { name: store.poolName, type: store.poolType } } : { dir: store.dir };
    return { ...(conn ? { uri: conn.uri() } : {}), ...where, volumes, space: await spaceOf(plan, drives, store, ropts) };
  } finally {
    conn?.close();
  }
}

/** The free-space figures of InspectTarget `space`: import's check (checkImportSpace), its refusal kept as `problem`. */
async function spaceOf(plan: ImportPlan, drives: readonly TargetedDrive[], store: TargetStore, opts: ResolvedImportOptions): Promise<InspectTarget['space']> {
  const neededBytes = drives.reduce((sum, d) => sum + (d.target ? volumeDataBytes(d) : 0), 0);
  let availableBytes: number | undefined;
  try {
    availableBytes = (await freeSpace(store.kind === 'pool' ? store.pool : { dir: store.dir }, store.kind === 'pool' ? 'pool' : 'outputDir')).freeBytes;
    await checkImportSpace(drives, { archive: plan.archive, store, tempDir: tempDirOf(opts), domain: plan.name });
    return { neededBytes, availableBytes, sufficient: true };
  } catch (err) {
    if (!(err instanceof LibvirtSetupError)) throw err;
    return { neededBytes, ...(availableBytes !== undefined ? { availableBytes } : {}), sufficient: false, problem: err.message };
  }
}
