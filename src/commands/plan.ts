// Reads a package and decides what import would create, without touching libvirt or disks.
import { openArchive, type Archive } from '../archive/archive.js';
import { checkReferences } from '../archive/policy.js';
import { PackageError, UsageError } from '../errors.js';
import { loadMappings, type Mappings } from '../mapping/load.js';
import { mapVirtualSystem, type MappedSystem, type PlannedDisk } from '../mapping/apply.js';
import type { Envelope, OvfFile, VirtualSystem } from '../ovf/model.js';
import { ovfEnvironmentXml } from '../ovf/environment.js';
import { parseEnvelope } from '../ovf/parse.js';
import { resolveProperties, type ResolvedProperty } from '../ovf/properties.js';
import { VERSION } from '../version.js';
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
  /** DeploymentOptionSection Configuration id (--deployment). */
  readonly deployment?: string;
  /** ProductSection property values by key (--prop KEY=VALUE). */
  readonly properties?: Readonly<Record<string, string>>;
  /** Attach the OVF environment on a CD-ROM even when the descriptor does not ask for the iso transport (--ovf-env). */
  readonly ovfEnv?: boolean;
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
  /** Set for the OVF environment CD-ROM, whose ISO import generates. */
  readonly generated?: 'ovf-env';
  /** For a delta disk (ovf:parentRef): its parents' files, nearest first, each with its format. */
  readonly parents?: readonly { readonly diskId: string; readonly file: OvfFile; readonly format: ImageFormat }[];
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
  /** ProductSection properties with the values in force. */
  readonly properties: readonly ResolvedProperty[];
  /** EulaSection license texts (collection and VirtualSystem). */
  readonly eulas: readonly string[];
  /** ovf-env.xml to attach on a CD-ROM (iso transport or --ovf-env), else undefined. */
  readonly ovfEnvironment?: string;
  readonly warnings: readonly string[];
}

/** instanceId of the OVF environment CD-ROM in the mapped hardware. */
export const OVF_ENV_DRIVE = 'ovf-env';

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
  const envelope = parseEnvelope(await archive.readDescriptor(), archive.descriptorName, {
    ...(opts.deployment !== undefined ? { deployment: opts.deployment } : {}),
    ...(opts.properties ? { properties: opts.properties } : {}),
  });
  const virtualSystem = selectVirtualSystem(envelope, opts.vm);
  const properties = resolveProperties(envelope, virtualSystem, opts.properties ?? {});
  const transport = virtualSystem.hardware.transport;
  const wantsEnv = opts.ovfEnv === true || transport.includes('iso');
  const mappings = loadMappings(opts.mappingsDir);
  const mapped = mapVirtualSystem(envelope, virtualSystem, mappings, {
    profile: opts.profile,
    ...(opts.networks ? { networks: opts.networks } : {}),
    ...(opts.bridges ? { bridges: opts.bridges } : {}),
    ...(opts.lax ? { lax: true } : {}),
    ...(opts.userNetwork ? { userNetwork: true } : {}),
    ...(wantsEnv ? { extraCdrom: OVF_ENV_DRIVE } : {}),
  });
  // Every href must be a safe name, unique, and (unless descriptor-only) present in the package.
  const referenceWarnings = checkReferences(envelope.references, archive, { descriptorOnly: opts.descriptorOnly === true });
  const warnings = [...envelope.warnings, ...referenceWarnings, ...mapped.warnings];
  const nvram = virtualSystem.hardware.vmwConfig['nvram'];
  if (nvram !== undefined && nvram.startsWith('ovf:/file/')) {
    warnings.push(`the VMware NVRAM file (${nvram}) is not carried over: OVMF keeps its own variable store, so the domain starts with default EFI variables`);
  }
  if (!wantsEnv && transport.length > 0) {
    warnings.push(`the descriptor asks for the ${transport.join(', ')} transport of the OVF environment, which libvirt lacks; --ovf-env attaches the environment on a CD-ROM instead`);
  }
  const name = safeName(opts.name ?? virtualSystem.name ?? virtualSystem.id);
  if (opts.name !== undefined && name !== opts.name) warnings.push(`--name "${opts.name}" is not safe for libvirt and file names; using "${name}"`);
  const disks: DiskPlan[] = [];
  for (const planned of mapped.disks) {
    if (planned.instanceId === OVF_ENV_DRIVE) {
      disks.push({ planned, capacityBytes: 0, volumeBase: `${name}-ovf-env`, generated: 'ovf-env' });
      continue;
    }
    const id = planned.ovfDisk?.diskId ?? planned.file?.id ?? planned.instanceId;
    const volumeBase = `${name}-${safeName(id, `item${planned.instanceId}`)}`;
    const file = planned.file;
    // Problems only a real import hits are errors there and warnings in descriptor-only mode.
    const refuse = (why: string): void => {
      if (!opts.descriptorOnly) throw new PackageError(`${envelope.file}: ${why}`, { file: envelope.file });
      warnings.push(`${why}; a real import refuses this`);
    };
    const parents: { diskId: string; file: OvfFile; format: ImageFormat }[] = [];
    for (let ref = planned.ovfDisk?.parentRef; ref !== undefined; ) {
      const parentDisk = envelope.disks.find((d) => d.diskId === ref);
      const parentFile = parentDisk?.fileRef !== undefined ? envelope.references.find((f) => f.id === parentDisk.fileRef) : undefined;
      const parentFormat = parentDisk && parentFile ? formatOf(parentDisk.format, parentFile.href, 'disk', mappings) : undefined;
      if (!parentDisk || !parentFile || parentFormat !== 'vmdk' || parents.some((p) => p.diskId === ref) || parents.length >= 16) {
        refuse(`Disk "${planned.ovfDisk!.diskId}" has a parent chain virt-ovf cannot follow at "${ref}" (a parent needs a VMDK file, and the chain no loop)`);
        break;
      }
      if (parentFile.compression !== undefined || parentFile.chunkSizeBytes !== undefined) refuse(`Disk "${ref}" is the parent of a delta disk and is compressed or chunked, which delta chains do not support`);
      parents.push({ diskId: parentDisk.diskId, file: parentFile, format: parentFormat });
      ref = parentDisk.parentRef;
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
    const capacityBytes = planned.ovfDisk?.capacityBytes ?? present?.size ?? file.sizeBytes ?? 0;
    if (parents.length > 0 && (sourceFormat !== 'vmdk' || file.compression !== undefined || file.chunkSizeBytes !== undefined)) {
      refuse(`Disk "${planned.ovfDisk!.diskId}" is a delta disk that is not a plain VMDK file; delta chains are supported for VMDK only`);
    }
    disks.push({ planned, file, sourceFormat, capacityBytes, volumeBase, ...(parents.length > 0 ? { parents } : {}) });
  }
  const ovfEnvironment = wantsEnv
    ? ovfEnvironmentXml({ virtualSystemId: virtualSystem.id, properties, nics: mapped.nics, platformVersion: VERSION })
    : undefined;
  const eulas = [...envelope.eulas, ...virtualSystem.eulas];
  return { archive, envelope, virtualSystem, mappings, mapped, name, disks, properties, eulas, warnings, ...(ovfEnvironment ? { ovfEnvironment } : {}) };
}
