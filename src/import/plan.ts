// Reads a package and decides what import would create, without touching libvirt or disks.
import { openArchive } from '../archive/archive.js';
import type { Archive } from '../archive/model.js';
import { checkReferences } from '../archive/policy.js';
import { PackageError, UsageError } from '../errors.js';
import { mapVirtualSystem, type MappedSystem } from '../mapping/apply.js';
import { describeDrives, type DriveRecord } from '../mapping/drives.js';
import { loadMappings, type Mappings } from '../mapping/load.js';
import { identifyProducer } from '../mapping/producer.js';
import { safeName } from '../naming.js';
import { ovfEnvironmentXml } from '../ovf/environment.js';
import type { Envelope, VirtualSystem } from '../ovf/model.js';
import { parseEnvelope } from '../ovf/parse.js';
import { resolveProperties, type ResolvedProperty } from '../ovf/properties.js';
import { VERSION } from '../version.js';
import { IMPORT_DEFAULTS, sourceOptionsOf, type PackageOptions } from './options.js';

/** Options of planImport. */
export interface PlanOptions extends PackageOptions {
  /** Missing files and unreadable formats are warnings (inspect, printXml) instead of errors. */
  readonly descriptorOnly?: boolean;
}

/** What import would do: the package, the mapped hardware, and one record per drive. */
export interface ImportPlan {
  readonly archive: Archive;
  readonly envelope: Envelope;
  readonly virtualSystem: VirtualSystem;
  readonly mappings: Mappings;
  readonly mapped: MappedSystem;
  /** The domain name, safe for libvirt and file names. */
  readonly name: string;
  /** The tool that wrote the descriptor (producers.json), e.g. VMware, VirtualBox, Ganeti, virt-ovf. */
  readonly producer: string;
  /** The profile the hardware was mapped with. */
  readonly profile: string;
  /** Every drive of the domain, in the order of its <disk> elements. */
  readonly drives: readonly DriveRecord[];
  /** ProductSection properties with the values in force. */
  readonly properties: readonly ResolvedProperty[];
  /** EulaSection license texts (collection and VirtualSystem). */
  readonly eulas: readonly string[];
  /** ovf-env.xml attached on a CD-ROM (iso transport or ovfEnv), else undefined. */
  readonly ovfEnvironment?: string;
  readonly warnings: readonly string[];
}

/**
 * Picks the VirtualSystem: `vm`, else the first.
 * @throws PackageError when the descriptor has none; UsageError (option `vm`) when `vm` names none.
 */
export function selectVirtualSystem(env: Envelope, vm?: string): VirtualSystem {
  if (env.virtualSystems.length === 0) throw new PackageError(`${env.file}: the descriptor holds no VirtualSystem`, { file: env.file });
  if (vm === undefined) return env.virtualSystems[0]!;
  const found = env.virtualSystems.find((v) => v.id === vm);
  if (!found) throw new UsageError(`no VirtualSystem has ovf:id "${vm}" (found: ${env.virtualSystems.map((v) => v.id).join(', ')}); choose one of them`, { option: 'vm' });
  return found;
}

/**
 * Builds the plan: opens and parses the package, maps the VirtualSystem's hardware, and builds
 * the record of every drive.
 * @throws PackageError / OvfParseError for an unreadable package or descriptor, a disk whose
 *   format is unknown, or (unless descriptorOnly) a file the descriptor needs but the package lacks;
 *   UsageError for an unknown vm, profile or property; UnsupportedItemError (see mapVirtualSystem).
 */
export async function planImport(opts: PlanOptions): Promise<ImportPlan> {
  return planArchive(await openArchive(opts.source, sourceOptionsOf(opts)), opts);
}

/**
 * planImport over a package already opened (a package read in one pass: import/sequential.ts).
 * @throws as planImport.
 */
export async function planArchive(archive: Archive, opts: PlanOptions): Promise<ImportPlan> {
  const envelope = parseEnvelope(await archive.readDescriptor(), archive.descriptorName, {
    ...(opts.deployment !== undefined ? { deployment: opts.deployment } : {}),
    ...(opts.properties ? { properties: opts.properties } : {}),
  });
  const virtualSystem = selectVirtualSystem(envelope, opts.vm);
  const properties = resolveProperties(envelope, virtualSystem, opts.properties ?? {});
  const transport = virtualSystem.hardware.transport;
  const wantsEnv = opts.ovfEnv === true || transport.includes('iso');
  const mappings = loadMappings(opts.mappingsDir);
  const profile = opts.profile ?? IMPORT_DEFAULTS.profile;
  const mapped = mapVirtualSystem(envelope, virtualSystem, mappings, {
    profile,
    ...(opts.networks ? { networks: opts.networks } : {}),
    ...(opts.bridges ? { bridges: opts.bridges } : {}),
    ...(opts.lax ? { lax: true } : {}),
    ...(opts.userNetwork ? { userNetwork: true } : {}),
    ...(wantsEnv ? { generatedCdroms: ['ovf-env' as const] } : {}),
  });
  // Every href must be a safe name, unique, and (unless descriptor-only) present in the package.
  const referenceWarnings = checkReferences(envelope.references, archive, { descriptorOnly: opts.descriptorOnly === true });
  const warnings = [...envelope.warnings, ...referenceWarnings, ...mapped.warnings];
  const nvram = virtualSystem.hardware.vmwConfig[mappings.system.vmwNvramKey];
  if (nvram !== undefined && nvram.startsWith('ovf:/file/')) {
    warnings.push(`the VMware NVRAM file (${nvram}) is not carried over: OVMF keeps its own variable store, so the domain starts with default EFI variables`);
  }
  if (!wantsEnv && transport.length > 0) {
    warnings.push(`the descriptor asks for the ${transport.join(', ')} transport of the OVF environment, which libvirt lacks; --ovf-env attaches the environment on a CD-ROM instead`);
  }
  const given = Object.keys(opts.properties ?? {});
  if (!wantsEnv && given.length > 0) {
    warnings.push(`--prop ${given.join(', ')}: the package asks for no iso transport, so no OVF environment carries the values to the guest; add --ovf-env to attach ovf-env.xml on a CD-ROM`);
  }
  const name = safeName(opts.name ?? virtualSystem.name ?? virtualSystem.id);
  if (opts.name !== undefined && name !== opts.name) warnings.push(`--name "${opts.name}" is not safe for libvirt and file names; using "${name}"`);
  const ovfEnvironment = wantsEnv ? ovfEnvironmentXml({ virtualSystemId: virtualSystem.id, properties, nics: mapped.nics, platformVersion: VERSION }) : undefined;
  const drives = describeDrives(mapped.disks, {
    envelope,
    archive,
    mappings,
    domainName: name,
    generated: ovfEnvironment !== undefined ? { 'ovf-env': [{ name: mappings.system.ovfEnvironment.fileName, content: ovfEnvironment }] } : {},
    descriptorOnly: opts.descriptorOnly === true,
    warnings,
  });
  const eulas = [...envelope.eulas, ...virtualSystem.eulas];
  const producer = identifyProducer(envelope, mappings);
  return { archive, envelope, virtualSystem, mappings, mapped, name, producer, profile, drives, properties, eulas, warnings, ...(ovfEnvironment ? { ovfEnvironment } : {}) };
}
