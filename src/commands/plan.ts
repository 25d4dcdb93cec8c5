// Reads a package and decides what import would create, without touching libvirt or disks.
import { openArchive, type Archive } from '../archive/archive.js';
import { PackageError, UsageError } from '../errors.js';
import { loadMappings, type Mappings } from '../mapping/load.js';
import { mapVirtualSystem, type MappedSystem, type PlannedDisk } from '../mapping/apply.js';
import type { Envelope, OvfFile, VirtualSystem } from '../ovf/model.js';
import { parseEnvelope } from '../ovf/parse.js';
import { safeName } from '../naming.js';
import type { ImageFormat } from '../storage/qemu-img.js';

/** Options shared by import and inspect. */
export interface PlanOptions {
  readonly source: string;
  /** VirtualSystem ovf:id inside a VirtualSystemCollection (--vm). */
  readonly vm?: string;
  /** Domain name override (--name). */
  readonly name?: string;
  readonly profile: string;
  readonly mappingsDir?: string;
  readonly networks?: Record<string, string>;
  readonly bridges?: Record<string, string>;
  readonly lax?: boolean;
  /** --user-net: unmapped NICs use QEMU user-mode networking. */
  readonly userNetwork?: boolean;
  /** Target volume format (--format); default chosen later from the pool type. */
  readonly volumeFormat?: 'qcow2' | 'raw';
  /** Missing files are warnings (inspect, --print-xml) instead of errors. */
  readonly descriptorOnly?: boolean;
}

/** One drive of the plan, with where its bytes come from. Sizes in bytes. */
export interface DiskPlan {
  readonly planned: PlannedDisk;
  /** The References/File to read, when present in the package. */
  readonly file?: OvfFile;
  /** qemu-img format of the file (from ovf:format via formats.json); undefined only in descriptor-only plans. */
  readonly sourceFormat?: ImageFormat;
  /** Capacity from the DiskSection (or the file size of an ISO); 0 when unknown. */
  readonly capacityBytes: number;
  /** Volume (or file) name to create: DOMAIN-DISKID.EXT. */
  readonly volumeBase: string;
}

/** What import would do. */
export interface ImportPlan {
  readonly archive: Archive;
  readonly envelope: Envelope;
  readonly virtualSystem: VirtualSystem;
  readonly mappings: Mappings;
  readonly mapped: MappedSystem;
  readonly name: string;
  readonly disks: readonly DiskPlan[];
  readonly warnings: readonly string[];
}

/** Picks the VirtualSystem: --vm ID, else the first. @throws UsageError when ID is unknown. */
export function selectVirtualSystem(env: Envelope, vm?: string): VirtualSystem {
  if (env.virtualSystems.length === 0) throw new PackageError(`${env.file}: the descriptor holds no VirtualSystem`, { file: env.file });
  if (vm === undefined) return env.virtualSystems[0]!;
  const found = env.virtualSystems.find((v) => v.id === vm);
  if (!found) throw new UsageError(`--vm ${vm}: no VirtualSystem with that ovf:id (found: ${env.virtualSystems.map((v) => v.id).join(', ')})`);
  return found;
}

/** qemu-img format from ovf:format; media of a CD-ROM without one is ISO 9660, read as raw. */
function formatOf(uri: string | undefined, href: string, device: 'disk' | 'cdrom', mappings: Mappings): ImageFormat | undefined {
  if (uri !== undefined) return mappings.formats.find((r) => new RegExp(r.pattern, 'i').test(uri))?.format;
  return device === 'cdrom' || /\.iso$/i.test(href) ? 'raw' : undefined;
}

/**
 * Builds the plan.
 * @throws PackageError / OvfParseError for an unreadable package or descriptor, a disk whose
 *   format is unknown, or (unless descriptorOnly) a file the descriptor needs but the package lacks.
 */
export async function planImport(opts: PlanOptions): Promise<ImportPlan> {
  const archive = await openArchive(opts.source);
  const envelope = parseEnvelope(await archive.readDescriptor(), archive.descriptorName);
  const virtualSystem = selectVirtualSystem(envelope, opts.vm);
  const mappings = loadMappings(opts.mappingsDir);
  const mapped = mapVirtualSystem(envelope, virtualSystem, mappings, {
    profile: opts.profile,
    ...(opts.networks ? { networks: opts.networks } : {}),
    ...(opts.bridges ? { bridges: opts.bridges } : {}),
    ...(opts.lax ? { lax: true } : {}),
    ...(opts.userNetwork ? { userNetwork: true } : {}),
  });
  const warnings = [...envelope.warnings, ...mapped.warnings];
  const name = safeName(opts.name ?? virtualSystem.name ?? virtualSystem.id);
  if (opts.name !== undefined && name !== opts.name) warnings.push(`--name "${opts.name}" is not safe for libvirt and file names; using "${name}"`);
  const disks: DiskPlan[] = [];
  for (const planned of mapped.disks) {
    const id = planned.ovfDisk?.diskId ?? planned.file?.id ?? planned.instanceId;
    const volumeBase = `${name}-${safeName(id, `item${planned.instanceId}`)}`;
    const file = planned.file;
    // Problems only a real import hits are errors there and warnings in descriptor-only mode.
    const refuse = (why: string): void => {
      if (!opts.descriptorOnly) throw new PackageError(`${envelope.file}: ${why}`, { file: envelope.file });
      warnings.push(`${why}; a real import refuses this`);
    };
    if (planned.ovfDisk?.parentRef !== undefined) {
      refuse(`Disk "${planned.ovfDisk.diskId}" is a delta disk (ovf:parentRef="${planned.ovfDisk.parentRef}"); delta disk chains are not supported yet`);
    }
    if (!file) {
      disks.push({ planned, capacityBytes: planned.ovfDisk?.capacityBytes ?? 0, volumeBase });
      continue;
    }
    const sourceFormat = formatOf(planned.ovfDisk?.format, file.href, planned.device, mappings);
    if (sourceFormat === undefined) {
      refuse(`File "${file.href}" has ${planned.ovfDisk?.format ? `an unknown ovf:format "${planned.ovfDisk.format}"` : 'no ovf:format'}; add a row to formats.json with --mappings`);
    }
    const present = file.chunkSizeBytes !== undefined ? archive.find(`${file.href}.000000000`) : archive.find(file.href);
    if (!present) {
      const why = `${archive.source}: File "${file.href}" (ovf:id ${file.id}) is referenced by the descriptor but missing from the package`;
      if (!opts.descriptorOnly) throw new PackageError(why, { file: file.href });
      warnings.push(why);
    }
    const capacityBytes = planned.ovfDisk?.capacityBytes ?? present?.size ?? file.sizeBytes ?? 0;
    disks.push({ planned, file, sourceFormat, capacityBytes, volumeBase });
  }
  return { archive, envelope, virtualSystem, mappings, mapped, name, disks, warnings };
}
