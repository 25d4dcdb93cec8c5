// A libvirt domain (formatdomain devices) to OVF hardware (DSP0243 9.5 RASD Items, 9.1 DiskSection):
// the mappings/ device tables that import reads, read in reverse.
import type { DomainDescription, DomainDisk } from '../domain/model.js';
import { devIndex } from '../domain/target-dev.js';
import { MappingError } from '../errors.js';
import type { DiskInput, EnvelopeInput, ItemInput, OvfFile, OvfNetwork, VirtualSystemInput } from '../ovf/model.js';
import { parseAllocationUnits } from '../ovf/units.js';
import { resolveProfile, type Mappings, type MappingRow } from './load.js';
import { busRules, driveAddress } from './export-layout.js';
import { environmentCdrom, operatingSystem, packageRecord, processorTopology } from './reverse-system.js';

/** The package file holding a disk image or a CD-ROM medium. Sizes in bytes. */
export interface DiskFile {
  /** ovf:href (the OVA member or the file beside the .ovf). */
  readonly href: string;
  /** Format of the file in the package; CD-ROM media are raw (ISO 9660). */
  readonly format: 'vmdk' | 'qcow2' | 'raw';
  /** Virtual size, ovf:capacity (ignored for CD-ROM media). */
  readonly capacityBytes: number;
  /** File size, ovf:size, when already known. */
  readonly sizeBytes?: number;
  /** ovf:populatedSize, when already known. */
  readonly populatedSizeBytes?: number;
}

/** A domain drive as reverse mapping reads it: the <disk> and the package file carrying its bytes. Export's disk record (export/disks.ts) extends it. */
export interface DriveInput {
  readonly disk: DomainDisk;
  /** The package file for a hard disk, or a CD-ROM's medium; undefined leaves a hard disk out (with a warning) and a CD-ROM empty. */
  readonly image?: DiskFile;
}

/** Options of {@link mapDomainToOvf}. */
export interface ReverseOptions<D extends DriveInput = DriveInput> {
  /** DSP0243 1.x or 2.0 (recorded for the caller; the items are the same). */
  readonly ovfVersion: 1 | 2;
  /** One record per domain <disk>, in domain order: these are mapped, not `domain.disks`. */
  readonly drives: readonly D[];
  /** Profile whose tables are read backwards (default faithful); rows marked "direction": "import" are never written. */
  readonly profile?: string;
  /** Leave out a hard disk on a bus no row places (with a warning) instead of throwing. */
  readonly lax?: boolean;
}

/** A drive record with the References/File carrying its bytes and, for hard disks, its DiskSection `diskId`. */
export type ExportedFile<D extends DriveInput = DriveInput> = D & {
  readonly image: NonNullable<D['image']>;
  readonly file: OvfFile;
  readonly diskId?: string;
};

/** What {@link mapDomainToOvf} produces: the descriptor to write and the files to put in the package, in References order. */
export interface ReverseResult<D extends DriveInput = DriveInput> {
  readonly envelope: EnvelopeInput;
  readonly files: readonly ExportedFile<D>[];
  /** `table:row` ids used, for coverage tests. */
  readonly rowsUsed: readonly string[];
  readonly warnings: readonly string[];
}

type Hit = { readonly row: MappingRow; readonly table: string };
const fail = (err: Error): never => {
  throw err;
};

/** ResourceSubType a row writes: exportSubType, else its first literal subtype; none for generic rows. */
const subTypeOf = (row: MappingRow): string | undefined => row.exportSubType ?? row.subTypes?.find((s) => s !== '*' && !s.endsWith('*'));

/**
 * Maps a domain to the OVF descriptor content through the profile's tables read backwards:
 * for each device the first row whose libvirt side matches (controller type, model and disk
 * bus; NIC, video, sound, USB model; TPM model and version) gives the ResourceType (its first)
 * and ResourceSubType (exportSubType, else its first). A device without an exact row is
 * written through the row of its kind that has no subtype (a generic SCSI HBA, Ethernet
 * adapter, USB controller or graphics card) when there is one, with a warning saying what
 * import makes of it; otherwise it is left out with a warning, never written as something
 * it is not. Disk AddressOnParent is the drive address field the controller row names
 * (unit, target, or unit with the IDE channel in the controller's Address), the inverse of
 * import. Memory is written in MiB (byte * 2^20), rounded up; firmware as vmw:Config; the
 * topology as vmw:CoresPerSocket and virt-ovf:ThreadsPerCore (processorTopology). What import
 * recorded in the domain's metadata comes back (packageRecord): the ProductSections with their
 * values, and the OVF environment transport; the ovf-env.xml CD-ROM itself is not a drive of the
 * package (environmentCdrom).
 * The drives mapped are `opts.drives` (one record per domain <disk>); each hard disk or CD-ROM
 * carried comes back in `files` as its record plus the File written for it.
 * Rules the device tables do not hold (units, libvirt's defaults, per-bus layout) come from
 * mappings/export.json.
 * @throws UsageError (option `profile`) for an unknown profile.
 * @throws MappingError when no row maps processors, memory, disks or CD-ROMs, or (unless
 *   `lax`; option `lax`) a hard disk is on a bus no row places (usb, sd, xen...).
 */
export function mapDomainToOvf<D extends DriveInput>(domain: DomainDescription, mappings: Mappings, opts: ReverseOptions<D>): ReverseResult<D> {
  const profile = resolveProfile(mappings, opts.profile ?? 'faithful');
  const table = mappings.export;
  const systemType = mappings.defaults.export.virtualSystemType;
  const rows: Hit[] = profile.tables
    .flatMap((table) => (mappings.exportTables[table] ?? []).map((row) => ({ row, table })))
    .filter(({ row }) => row.kind !== 'ignore' && (row.systemTypes === undefined || new RegExp(row.systemTypes, 'i').test(systemType)));
  const warnings: string[] = [];
  const used = new Set<string>();
  let lastId = 0;
  const find = (kind: MappingRow['kind'], match: (row: MappingRow) => boolean): Hit | undefined => rows.find((h) => h.row.kind === kind && match(h.row));
  const generic = (kind: MappingRow['kind'], match: (row: MappingRow) => boolean = () => true): Hit | undefined => find(kind, (r) => r.subTypes === undefined && match(r));
  const use = (hit: Hit, what: string): MappingRow => {
    used.add(`${hit.table}:${hit.row.id}`);
    if (hit.row.exportNote) warnings.push(`${what}: ${hit.row.exportNote}`);
    return hit.row;
  };
  const need = (kind: MappingRow['kind']): MappingRow => use(generic(kind) ?? fail(new MappingError(`no ${kind} row without subTypes in the export tables of profile ${opts.profile ?? 'faithful'}`)), kind);
  /** Exact row, else the generic one with a warning, else undefined with a warning. */
  const pick = (kind: MappingRow['kind'], what: string, model: string | undefined, exact: (r: MappingRow) => boolean, same: (r: MappingRow) => boolean = () => true): MappingRow | undefined => {
    const hit = find(kind, exact) ?? generic(kind, same);
    if (!hit) {
      warnings.push(`${what}${model ? ` (model ${model})` : ''}: no row of ${kind} maps it; left out of the OVF`);
      return undefined;
    }
    const target = hit.row.controller?.model ?? hit.row.nic?.model ?? hit.row.video?.model ?? hit.row.usb?.model;
    if (hit.row.subTypes === undefined && target !== model) warnings.push(`${what}: ${model ? `model ${model} has no row; ` : 'no model; '}written as ResourceType ${hit.row.resourceTypes[0]} without subtype, which import makes ${target ?? 'the default'}`);
    return use(hit, what);
  };
  const item = (row: MappingRow, rest: Omit<ItemInput, 'instanceId' | 'resourceType'>): ItemInput => {
    const sub = subTypeOf(row);
    return { instanceId: String(++lastId), resourceType: row.resourceTypes[0]!, ...(sub !== undefined ? { resourceSubType: sub } : {}), ...rest };
  };

  const items: ItemInput[] = [];
  const units = table.allocationUnits;
  items.push(item(need('processor'), { elementName: `${domain.vcpus} virtual CPU(s)`, description: 'Number of virtual CPUs', allocationUnits: units.processor, virtualQuantity: String(domain.vcpus), ...processorTopology(domain, warnings) }));
  const unitBytes = parseAllocationUnits(units.memory, 'export.json allocationUnits.memory');
  const mib = Math.ceil(domain.memoryBytes / unitBytes);
  if (mib * unitBytes !== domain.memoryBytes) warnings.push(`memory: ${domain.memoryBytes} bytes is not a whole number of MiB; written as ${mib} MiB`);
  items.push(item(need('memory'), { elementName: `${mib}MB of memory`, description: 'Memory Size', allocationUnits: units.memory, virtualQuantity: String(mib) }));

  // Storage: one controller Item per libvirt controller (per IDE channel) that carries an exported drive.
  const controllers = new Map<string, { row: MappingRow; spec: Omit<ItemInput, 'instanceId' | 'resourceType'>; item?: ItemInput }>();
  const [drives, files, disks, taken]: [ItemInput[], ExportedFile<D>[], DiskInput[], Set<string>] = [[], [], [], new Set()];
  const [diskRow, cdromRow] = [need('disk'), need('cdrom')];
  const environment = environmentCdrom(domain);
  for (const drive of opts.drives) {
    const { disk, image: file } = drive;
    if (environment && disk.device === 'cdrom' && disk.dev === environment.dev) continue;
    const what = `${disk.device} ${disk.dev} (bus ${disk.bus})`;
    if (disk.device !== 'disk' && disk.device !== 'cdrom') {
      warnings.push(`${what}: ${disk.device} devices are not carried over; left out of the OVF`);
      continue;
    }
    const a = driveAddress(disk, table, mappings.domain.targetDev);
    const bus = busRules(table, disk.bus);
    const [whole, channel] = [bus.controllerItem === 'domain', bus.controllerItem === 'channel'];
    const key = whole ? disk.bus : `${disk.bus}/${channel ? `0/${a.bus}` : a.controller}`;
    let ctl = controllers.get(key);
    if (!ctl) {
      const model = whole ? undefined : domain.controllers.find((c) => c.type === disk.bus && c.index === (channel ? 0 : a.controller))?.model;
      const label = whole ? (bus.elementName ?? `${disk.bus} disks`) : `${disk.bus.toUpperCase()} controller ${channel ? a.bus : a.controller}`;
      const on = (r: MappingRow): boolean => (whole ? r.controller!.diskBus === disk.bus : r.controller!.type === disk.bus && r.controller!.diskBus === disk.bus);
      const row = pick('controller', label, model, (r) => on(r) && (whole || r.controller!.model === model), on);
      if (!row && disk.device === 'disk' && !opts.lax) throw new MappingError(`${what}: no controller row of the export tables places a disk on bus ${disk.bus}; move the disk to virtio, SATA or SCSI, or leave it out (lax)`, { option: 'lax' });
      if (!row) {
        warnings.push(`${what}: left out of the OVF`);
        continue;
      }
      const description = whole ? (bus.description ?? `${disk.bus} controller`) : `${disk.bus.toUpperCase()}${model ? ` ${model}` : ''} controller`;
      ctl = { row, spec: { elementName: label, description, address: String(channel ? a.bus : whole ? 0 : a.controller) } };
      controllers.set(key, ctl);
    }
    if (disk.device === 'disk' && !file) {
      warnings.push(`${what}: no image was provided for it; left out of the OVF`);
      continue;
    }
    ctl.item ??= item(ctl.row, ctl.spec);
    const m = ctl.row.controller!;
    let slot = whole ? devIndex(disk.dev, mappings.domain.targetDev) : m.address === 'target' && a.target === 0 ? a.unit : m.address === 'target' ? a.target : a.unit;
    while (taken.has(`${key}/${slot}`) && slot <= m.maxAddress) slot += 1;
    taken.add(`${key}/${slot}`);
    const ref = file ? { id: `file${files.length + 1}`, href: file.href, ...(file.sizeBytes !== undefined ? { sizeBytes: file.sizeBytes } : {}) } : undefined;
    const base = { parent: ctl.item.instanceId, addressOnParent: String(slot) };
    if (disk.device === 'disk') {
      const diskId = `vmdisk${disks.length + 1}`;
      const format = mappings.formats.find((f) => f.format === file!.format && f.exportUri)?.exportUri;
      disks.push({ diskId, fileRef: ref!.id, capacityBytes: file!.capacityBytes, ...(format ? { format } : {}), ...(file!.populatedSizeBytes !== undefined ? { populatedSizeBytes: file!.populatedSizeBytes } : {}) });
      files.push({ ...drive, image: file!, file: ref!, diskId });
      drives.push(item(diskRow, { elementName: `Hard disk ${disks.length}`, description: disk.dev, hostResource: [`ovf:/disk/${diskId}`], ...base }));
    } else {
      if (ref) files.push({ ...drive, image: file!, file: ref });
      drives.push(item(cdromRow, { elementName: `CD/DVD drive ${drives.length - disks.length + 1}`, description: disk.dev, automaticAllocation: ref !== undefined, required: false, ...(ref ? { hostResource: [`ovf:/file/${ref.id}`] } : {}), ...base }));
    }
  }
  items.push(...[...controllers.values()].flatMap((c) => (c.item ? [c.item] : [])), ...drives);

  const networks: OvfNetwork[] = [];
  domain.interfaces.forEach((nic, i) => {
    const what = `interface ${i + 1} (${nic.type}${nic.mac ? ` ${nic.mac}` : ''})`;
    if (table.passthroughInterfaceTypes.includes(nic.type)) return void warnings.push(`${what}: a ${nic.type} interface passes a host device through; left out of the OVF`);
    const row = pick('nic', what, nic.model, (r) => r.nic!.model === nic.model);
    if (!row) return;
    const connection = nic.source ?? nic.type;
    if (!networks.some((n) => n.name === connection)) networks.push({ name: connection, description: `libvirt ${nic.type === 'network' ? 'network' : nic.type === 'bridge' ? 'host bridge' : `${nic.type} interface`} ${connection}` });
    items.push(item(row, { elementName: `Network adapter ${i + 1}`, description: `${subTypeOf(row) ?? 'Ethernet'} adapter on "${connection}"`, connection: [connection], automaticAllocation: true, ...(nic.mac ? { address: nic.mac } : {}) }));
  });

  // Optional devices (ovf:required="false"): video, sound, USB, TPM.
  const [video, ...extra] = domain.videos.filter((v) => v.model !== table.noDeviceModel);
  if (extra.length > 0) warnings.push(`${extra.length} more video device(s) (${extra.map((v) => v.model).join(', ')}): OVF import reads one; left out`);
  const usb = new Map<number, string | undefined>();
  // EHCI companions (ich9-uhci1..3) share the index of their ich9-ehci1: one controller per index.
  for (const c of domain.controllers) if (c.type === 'usb' && c.model !== table.noDeviceModel && (!usb.has(c.index) || find('usb', (r) => r.usb!.model === c.model))) usb.set(c.index, c.model);
  const tpm = domain.tpm;
  const tpmBackend = tpm?.backend ?? mappings.domain.defaults.tpmBackend;
  const emulated = tpm !== undefined && table.emulatedTpmBackends.includes(tpmBackend);
  if (tpm && !emulated) warnings.push(`TPM: the ${tpmBackend} backend uses the host's TPM; left out of the OVF`);
  const [tpmModel, tpmVersion] = [tpm?.model ?? table.tpmWhenAbsent.model, tpm?.version ?? table.tpmWhenAbsent.version];
  type Optional = { kind: MappingRow['kind']; name: string; model: string | undefined; exact: (r: MappingRow) => boolean; same?: (r: MappingRow) => boolean; description: string };
  const optional: Optional[] = [
    ...(video ? [{ kind: 'video' as const, name: 'Video card', model: video.model, exact: (r: MappingRow) => r.video!.model === video.model, description: `${video.model} graphics` }] : []),
    ...domain.sounds.map((s) => ({ kind: 'sound' as const, name: 'Sound card', model: s.model, exact: (r: MappingRow) => r.sound!.model === s.model, same: () => false, description: `${s.model} sound` })),
    ...[...usb].map(([i, model]) => ({ kind: 'usb' as const, name: `USB controller ${i}`, model, exact: (r: MappingRow) => r.usb!.model === model, description: `${model ?? 'default'} USB controller` })),
    ...(emulated
      ? [{ kind: 'tpm' as const, name: 'Virtual TPM', model: tpmModel, exact: (r: MappingRow) => r.tpm!.model === tpmModel && r.tpm!.version === tpmVersion, same: () => false, description: `${tpmModel} TPM ${tpmVersion}` }]
      : []),
  ];
  for (const d of optional) {
    const row = pick(d.kind, d.name, d.model, d.exact, d.same);
    if (row) items.push(item(row, { elementName: d.name, description: d.description, required: false }));
  }

  const fw = mappings.defaults.firmware;
  const values = table.firmwareValues;
  const vmwConfig = { [fw.vmwConfigKey]: values[domain.firmware], ...(domain.secureBoot ? { [fw.secureBootVmwConfigKey]: values.secureBoot } : {}) };
  const { productSections, transport } = packageRecord(domain, mappings, warnings);
  const virtualSystem: VirtualSystemInput = {
    id: domain.name,
    name: domain.name,
    operatingSystem: operatingSystem(domain, mappings),
    hardware: { virtualSystemTypes: [systemType], items: renumber(items), vmwConfig, ...(transport ? { transport } : {}) },
    ...(domain.description ? { annotation: domain.description } : {}),
    ...(productSections ? { productSections } : {}),
  };
  return { envelope: { references: files.map((f) => f.file), disks, networks, virtualSystems: [virtualSystem] }, files, rowsUsed: [...used], warnings };
}

/** InstanceIDs 1, 2, 3... in document order (controllers were numbered when first used), Parent references following. */
function renumber(items: readonly ItemInput[]): ItemInput[] {
  const ids = new Map(items.map((i, n) => [i.instanceId, String(n + 1)]));
  return items.map((i) => ({ ...i, instanceId: ids.get(i.instanceId)!, ...(i.parent !== undefined ? { parent: ids.get(i.parent)! } : {}) }));
}
