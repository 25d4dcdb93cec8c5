// Applies the mapping tables to one VirtualSystem: RASD Items to a libvirt device plan.
import { OvfParseError, UnsupportedItemError } from '../errors.js';
import { ResourceType, type Envelope, type Item, type OvfDisk, type OvfFile, type VirtualSystem } from '../ovf/model.js';
import { parseAllocationUnits, quantityToBytes } from '../ovf/units.js';
import { resolveProfile, type ControllerMapping, type Mappings, type MappingRow } from './load.js';
import { matchRow } from './match.js';
import { layoutStorage, type GeneratedContent, type StorageAttachment, type PlannedDisk } from './storage-layout.js';

export type { GeneratedContent, PlannedDisk } from './storage-layout.js';

/** Options that steer the mapping (ImportOptions profile, networks, bridges, userNetwork, lax). */
export interface MapOptions {
  /** Device profile name from defaults.json: faithful or virtio. */
  readonly profile: string;
  /** OVF network name to libvirt network name. */
  readonly networks?: Readonly<Record<string, string>>;
  /** OVF network name to host bridge name. */
  readonly bridges?: Readonly<Record<string, string>>;
  /** Attach NICs no --network/--bridge names to QEMU user-mode networking instead of the default network. */
  readonly userNetwork?: boolean;
  /** Turn ovf:required unsupported items into warnings. */
  readonly lax?: boolean;
  /** CD-ROMs import generates (the OVF environment ISO), placed after the Items' drives on the default CD-ROM bus. */
  readonly generatedCdroms?: readonly GeneratedContent[];
}

/** Where a NIC attaches: a libvirt network, a host bridge, or QEMU user-mode networking (SLIRP, needs no host network). */
export type NicSource = { readonly type: 'network'; readonly network: string } | { readonly type: 'bridge'; readonly bridge: string } | { readonly type: 'user' };

/** A NIC and where it is attached; `defaulted` when no networks/bridges entry named its OVF network. */
export interface PlannedNic {
  readonly source: NicSource;
  /** libvirt <model type>, e.g. e1000, vmxnet3, virtio. */
  readonly model: string;
  /** MAC address, lower case. */
  readonly mac?: string;
  readonly instanceId: string;
  readonly ovfNetwork?: string;
  readonly defaulted: boolean;
}

/** What the hardware of one VirtualSystem becomes. Sizes in bytes. */
export interface MappedSystem {
  readonly vcpus: number;
  readonly topology?: { sockets: number; cores: number; threads: number };
  readonly memoryBytes: number;
  readonly firmware: 'bios' | 'efi';
  readonly secureBoot: boolean;
  readonly machine: string;
  readonly arch: string;
  readonly osinfo?: string;
  readonly osFamily?: 'linux' | 'windows' | 'other';
  readonly controllers: PlannedDiskLayout['controllers'];
  readonly disks: readonly PlannedDisk[];
  readonly nics: readonly PlannedNic[];
  readonly video?: { model: string };
  readonly sounds: readonly { model: string }[];
  readonly usb: readonly { model: string }[];
  readonly tpm?: { model: string; version: string };
  /** Rows used, for the table-coverage test. */
  readonly rowsUsed: readonly string[];
  readonly warnings: readonly string[];
}
type PlannedDiskLayout = ReturnType<typeof layoutStorage>;

function itemLabel(item: Item): string {
  return `Item InstanceID ${item.instanceId}${item.elementName ? ` ("${item.elementName}")` : ''}`;
}

/**
 * Maps a VirtualSystem through the profile's device tables. A Disk that a second Item names
 * again is attached once (the first Item's), with a warning.
 * @throws UsageError (option `profile`) for an unknown profile; UnsupportedItemError (option
 *   `lax`) for an unknown item marked ovf:required, unless `lax`; OvfParseError for unreadable
 *   CPU/memory quantities or units; PackageError for more drives than a controller that cannot
 *   grow holds (layoutStorage).
 */
export function mapVirtualSystem(env: Envelope, vs: VirtualSystem, mappings: Mappings, opts: MapOptions): MappedSystem {
  const profile = resolveProfile(mappings, opts.profile);
  const tables = profile.tables.map((name) => ({ name, rows: mappings.tables[name] ?? [] }));
  const warnings: string[] = [];
  const rowsUsed = new Set<string>();
  const file = env.file;
  let vcpus = 1;
  let topology: MappedSystem['topology'];
  let memoryBytes: number | undefined;
  const controllers = new Map<string, { mapping: ControllerMapping; item: Item }>();
  const attachments: StorageAttachment[] = [];
  // The Item that attached each Disk: a Disk is one volume, attached once.
  const attachedBy = new Map<OvfDisk, Item>();
  const nics: PlannedNic[] = [];
  let video: MappedSystem['video'];
  const sounds: { model: string }[] = [];
  const usb: { model: string }[] = [];
  let tpm: MappedSystem['tpm'];

  // DSP0243 9.8: an Item with ovf:configuration applies only to those deployment options.
  const deployment = env.deployment;
  const items = vs.hardware.items.filter(
    (i) => (i.configuration.length === 0 || (deployment !== undefined && i.configuration.includes(deployment))) && (i.bound === undefined || i.bound === 'normal'),
  );
  for (const item of items) {
    const hit = matchRow(item, tables, vs.hardware.virtualSystemTypes);
    if (!hit) {
      const what = `${itemLabel(item)}: ResourceType ${item.resourceType ?? '(none)'}${item.resourceSubType ? ` ResourceSubType "${item.resourceSubType}"` : ''} has no mapping`;
      if (item.required && !opts.lax) {
        throw new UnsupportedItemError(`${file}: ${what} and is marked ovf:required; it can be left out`, {
          instanceId: item.instanceId,
          option: 'lax',
          ...(item.resourceType !== undefined ? { resourceType: item.resourceType } : {}),
          ...(item.resourceSubType !== undefined ? { resourceSubType: item.resourceSubType } : {}),
          file,
        });
      }
      warnings.push(`${what}; left out`);
      continue;
    }
    const row: MappingRow = hit.row;
    rowsUsed.add(`${hit.table}:${row.id}`);
    if (row.note) warnings.push(`${itemLabel(item)}: ${row.note}`);
    switch (row.kind) {
      case 'processor': {
        vcpus = positiveInt(item.virtualQuantity ?? '1', `${itemLabel(item)}/VirtualQuantity`, file);
        const keys = mappings.system.coresPerSocket;
        const cores = [...keys.itemKeys.map((k) => item.extra[k]), ...keys.vmwConfigKeys.map((k) => vs.hardware.vmwConfig[k])].find((v) => v !== undefined);
        if (cores !== undefined && /^\d+$/.test(cores) && Number(cores) > 0 && vcpus % Number(cores) === 0) {
          // CoresPerSocket counts a socket's CPUs, ThreadsPerCore (when it divides them) how many share a core.
          const t = Number(mappings.system.threadsPerCore.itemKeys.map((k) => item.extra[k]).find((v) => v !== undefined && /^\d+$/.test(v) && Number(v) > 0 && Number(cores) % Number(v) === 0) ?? 1);
          topology = { sockets: vcpus / Number(cores), cores: Number(cores) / t, threads: t };
        }
        break;
      }
      case 'memory': {
        const units = item.allocationUnits ?? item.virtualQuantityUnits;
        if (units === undefined) warnings.push(`${itemLabel(item)}: memory has no AllocationUnits; assuming "${mappings.defaults.memoryUnitsWhenAbsent}"`);
        const where = `${itemLabel(item)}/AllocationUnits`;
        const multiplier = parseAllocationUnits(units ?? mappings.defaults.memoryUnitsWhenAbsent, where, file);
        memoryBytes = quantityToBytes(item.virtualQuantity ?? '', multiplier, `${itemLabel(item)}/VirtualQuantity`, file);
        break;
      }
      case 'controller':
        controllers.set(item.instanceId, { mapping: row.controller!, item });
        break;
      case 'disk':
      case 'cdrom': {
        const attachment = resolveAttachment(env, item, row.kind, warnings);
        const first = attachment.ovfDisk ? attachedBy.get(attachment.ovfDisk) : undefined;
        if (first) {
          warnings.push(`${itemLabel(item)}: Disk "${attachment.ovfDisk!.diskId}" is already attached by ${itemLabel(first)}; a disk is attached once, so this Item is left out`);
          break;
        }
        if (attachment.ovfDisk) attachedBy.set(attachment.ovfDisk, item);
        attachments.push({ kind: 'item', ...attachment });
        break;
      }
      case 'nic':
        nics.push(mapNic(item, row.nic!.model, mappings, opts));
        break;
      case 'video':
        video ??= { model: row.video!.model };
        break;
      case 'sound':
        sounds.push({ model: row.sound!.model });
        break;
      case 'usb':
        usb.push({ model: row.usb!.model });
        break;
      case 'tpm':
        tpm = { model: row.tpm!.model, version: row.tpm!.version };
        break;
      case 'ignore':
        warnings.push(`${itemLabel(item)}: not carried over: ${row.reason}`);
        break;
    }
  }
  for (const content of opts.generatedCdroms ?? []) attachments.push({ kind: 'generated', device: 'cdrom', content });
  if (memoryBytes === undefined) {
    memoryBytes = mappings.defaults.memoryMiBWhenAbsent * 2 ** 20;
    warnings.push(`VirtualSystem "${vs.id}" has no memory Item (ResourceType ${ResourceType.Memory}); using ${mappings.defaults.memoryMiBWhenAbsent} MiB`);
  }

  const { efi, secureBoot } = firmwareOf(vs, mappings);
  const layout = layoutStorage({ controllers, attachments, defaults: mappings.defaults, system: mappings.system, targetDev: mappings.domain.targetDev, profileMachine: profile.machine, forceQ35: secureBoot, file, warnings });
  const os = lookupOs(env, vs, mappings);
  return {
    vcpus,
    memoryBytes,
    firmware: efi ? 'efi' : 'bios',
    secureBoot,
    machine: layout.machine,
    arch: mappings.defaults.arch,
    controllers: layout.controllers,
    disks: layout.disks,
    nics,
    sounds,
    usb,
    rowsUsed: [...rowsUsed],
    warnings,
    ...(topology ? { topology } : {}),
    ...(os ? { osinfo: os.osinfo, osFamily: os.family } : {}),
    ...(video ? { video } : {}),
    ...(tpm ? { tpm } : {}),
  };
}

/** EFI and secure boot from the producers' keys: vmw:Config firmware (defaults.json), oVirt's BiosType, VirtualBox's Firmware (system.json). */
function firmwareOf(vs: VirtualSystem, mappings: Mappings): { efi: boolean; secureBoot: boolean } {
  const fw = mappings.defaults.firmware;
  const keys = mappings.system.firmware;
  const biosType = vs.extra[keys.ovirtBiosTypeElement];
  const ovirtBios = biosType !== undefined && Object.hasOwn(fw.ovirtBiosTypes, biosType) ? fw.ovirtBiosTypes[biosType] : undefined;
  const efi =
    fw.efiValues.includes((vs.hardware.vmwConfig[fw.vmwConfigKey] ?? '').toLowerCase()) ||
    ovirtBios === 'efi' ||
    ovirtBios === 'efi-secure' ||
    new RegExp(keys.vboxEfiPattern, 'i').test(vs.vboxFirmware ?? '');
  const secureBoot = efi && (vs.hardware.vmwConfig[fw.secureBootVmwConfigKey] === 'true' || ovirtBios === 'efi-secure');
  return { efi, secureBoot };
}

function positiveInt(text: string, where: string, file: string): number {
  if (!/^\s*\d+\s*$/.test(text) || Number(text) < 1) throw new OvfParseError(`${file}: ${where}: "${text}" is not a positive integer`, { file, element: where });
  return Number(text);
}

/**
 * The libosinfo entry for the guest OS: producer-specific ids first (vmw:osType, vbox:OSType,
 * oVirt's Description), the CIM OsType number last, because producers disagree on its numbers.
 */
function lookupOs(env: Envelope, vs: VirtualSystem, mappings: Mappings): { osinfo: string; family: 'linux' | 'windows' | 'other' } | undefined {
  const os = vs.operatingSystem;
  if (!os) return undefined;
  const from = (table: Readonly<Record<string, { osinfo: string; family: 'linux' | 'windows' | 'other' }>>, key: string | undefined) =>
    key !== undefined && Object.hasOwn(table, key) ? table[key] : undefined;
  return (
    from(mappings.os.vmwOsType, os.vmwOsType) ??
    from(mappings.os.vboxOsType, os.vboxOsType) ??
    (env.producer === 'oVirt' ? from(mappings.os.ovirtOsType, os.description) : undefined) ??
    from(mappings.os.cimOsType, os.id !== undefined ? String(os.id) : undefined)
  );
}

/**
 * Resolves rasd:HostResource (`ovf:/disk/ID`, `ovf:/file/ID`, or empty) to the DiskSection and
 * References entries: the one place a drive's Disk and File are looked up.
 */
function resolveAttachment(env: Envelope, item: Item, device: 'disk' | 'cdrom', warnings: string[]): Omit<StorageAttachment & { kind: 'item' }, 'kind'> {
  const ref = item.hostResource.find((h) => h !== '');
  let ovfDisk: OvfDisk | undefined;
  let file: OvfFile | undefined;
  if (ref !== undefined) {
    const m = /^(?:ovf:)?\/*(disk|file)\/(.+)$/.exec(ref.trim()) ?? ovirtHostResource(env, ref.trim());
    if (!m) {
      if (device === 'disk') throw new OvfParseError(`${env.file}: ${itemLabel(item)}: HostResource "${ref}" is not ovf:/disk/ID or ovf:/file/ID`, { file: env.file, element: `${itemLabel(item)}/HostResource` });
      warnings.push(`${itemLabel(item)}: HostResource "${ref}" points outside the package; the drive is left empty`);
    } else if (m[1] === 'disk') {
      ovfDisk = env.disks.find((d) => d.diskId === m[2]);
      if (!ovfDisk) throw new OvfParseError(`${env.file}: ${itemLabel(item)}: HostResource "${ref}" names no Disk in DiskSection`, { file: env.file, element: `${itemLabel(item)}/HostResource` });
      file = fileOfDisk(env, ovfDisk);
    } else {
      file = env.references.find((f) => f.id === m[2]);
      if (!file) throw new OvfParseError(`${env.file}: ${itemLabel(item)}: HostResource "${ref}" names no File in References`, { file: env.file, element: `${itemLabel(item)}/HostResource` });
    }
  }
  return { item, device, ...(ovfDisk ? { ovfDisk } : {}), ...(file ? { file } : {}) };
}

/** The References/File a DiskSection/Disk names with ovf:fileRef, if any. */
export function fileOfDisk(env: Envelope, disk: OvfDisk): OvfFile | undefined {
  return disk.fileRef !== undefined ? env.references.find((f) => f.id === disk.fileRef) : undefined;
}

/**
 * oVirt writes HostResource as IMAGE/VOLUME, the disk's File href, whose last part is the
 * Disk ovf:diskId. Returns a match shaped like the ovf:/disk/ID pattern's, or null.
 */
function ovirtHostResource(env: Envelope, ref: string): [string, string, string] | null {
  const file = env.references.find((f) => f.href === ref);
  const disk = env.disks.find((d) => (file && d.fileRef === file.id) || ref.endsWith(`/${d.diskId}`) || ref === d.diskId);
  return disk ? [ref, 'disk', disk.diskId] : null;
}

function mapNic(item: Item, model: string, mappings: Mappings, opts: MapOptions): PlannedNic {
  const ovfNetwork = item.connection.find((c) => c !== '');
  // rasd:Address holds the MAC (DSP0243); oVirt writes it as <rasd:MACAddress> and may put the
  // PCI address in rasd:Address, so the first candidate that is a MAC wins.
  const candidates = [item.address, ...mappings.system.macAddressKeys.map((k) => item.extra[k])].map((v) => v?.trim());
  const mac = candidates.find((v) => v !== undefined && /^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$/i.test(v))?.toLowerCase().replace(/-/g, ':');
  const bridge = ovfNetwork !== undefined ? opts.bridges?.[ovfNetwork] : undefined;
  const network = ovfNetwork !== undefined ? opts.networks?.[ovfNetwork] : undefined;
  const source: NicSource =
    bridge !== undefined
      ? { type: 'bridge', bridge }
      : network !== undefined
        ? { type: 'network', network }
        : opts.userNetwork
          ? { type: 'user' }
          : { type: 'network', network: mappings.defaults.defaultNetwork };
  return { instanceId: item.instanceId, model, source, defaulted: bridge === undefined && network === undefined, ...(mac ? { mac } : {}), ...(ovfNetwork !== undefined ? { ovfNetwork } : {}) };
}
