// Places disks and CD-ROMs on libvirt controllers: indexes, drive addresses, target names, boot order.
import type { DomainController, DriveAddress } from '../domain/model.js';
import { devName, devPrefix } from '../domain/target-dev.js';
import type { Item, OvfDisk, OvfFile } from '../ovf/model.js';
import type { ControllerMapping, Defaults } from './load.js';
import type { DomainRules } from './schema/domain.js';
import type { SystemRules } from './schema/system.js';

/** Content import generates for a drive no Item describes: the OVF environment ISO (DSP0243 11.2). */
export type GeneratedContent = 'ovf-env';

/**
 * What a drive is attached for: a disk or CD-ROM Item with what its HostResource resolved to,
 * or a CD-ROM import generates (no Item: it goes to the default CD-ROM bus).
 */
export type StorageAttachment =
  | { readonly kind: 'item'; readonly item: Item; readonly device: 'disk' | 'cdrom'; readonly ovfDisk?: OvfDisk; readonly file?: OvfFile }
  | { readonly kind: 'generated'; readonly device: 'cdrom'; readonly content: GeneratedContent };

/** A disk or CD-ROM placed on a controller; its source is decided later by the import. */
export interface PlannedDisk {
  /** InstanceID of the Item; absent for a generated drive. */
  readonly instanceId?: string;
  /** Set for a drive import generates instead of reading it from the package. */
  readonly generated?: GeneratedContent;
  readonly elementName?: string;
  readonly device: 'disk' | 'cdrom';
  readonly bus: 'ide' | 'scsi' | 'sata' | 'virtio' | 'usb';
  readonly dev: string;
  readonly address?: DriveAddress;
  readonly bootOrder?: number;
  /** The DiskSection entry (hard disks, ISO-as-disk). */
  readonly ovfDisk?: OvfDisk;
  /** The References entry whose bytes fill the drive; absent for empty disks and empty CD-ROMs. */
  readonly file?: OvfFile;
}

interface LayoutInput {
  readonly controllers: ReadonlyMap<string, { mapping: ControllerMapping; item: Item }>;
  readonly attachments: readonly StorageAttachment[];
  readonly defaults: Defaults;
  readonly system: SystemRules;
  /** domain.json targetDev: the dev name prefix of each bus. */
  readonly targetDev: DomainRules['targetDev'];
  readonly profileMachine: string;
  /** Secure boot needs q35: IDE-attached devices then move to the default bus. */
  readonly forceQ35: boolean;
  readonly warnings: string[];
}

/**
 * Lays out storage. Controllers that end up with no device are left out; a device whose
 * Parent is missing, unknown or unusable on the chosen machine goes to the defaults'
 * bus (SATA), at the first free address. Out-of-range or taken addresses are moved to the
 * first free one with a warning.
 */
export function layoutStorage(input: LayoutInput): { machine: string; controllers: DomainController[]; disks: PlannedDisk[] } {
  const { defaults, system, warnings } = input;
  const parentId = (a: StorageAttachment) => (a.kind === 'item' ? a.item.parent : undefined);
  const parentOf = (a: StorageAttachment) => (parentId(a) !== undefined ? input.controllers.get(parentId(a)!) : undefined);
  // A controller row may need a machine type (IDE needs pc); secure boot needs its own (q35).
  const required = input.attachments.map((a) => parentOf(a)?.mapping.machine).find((m) => m !== undefined);
  const secureBootMachine = system.firmware.secureBootMachine;
  const machine = required === undefined ? input.profileMachine : input.forceQ35 ? secureBootMachine : required;
  if (required !== undefined && machine !== required) warnings.push(`secure boot needs the ${secureBootMachine} machine, which has no IDE: IDE devices move to ${defaults.diskBusWhenNoController.toUpperCase()}`);

  const fallbackFor = (bus: ControllerMapping['diskBus']): ControllerMapping => ({ ...system.fallbackControllers[bus], diskBus: bus });
  const fallback: Record<'disk' | 'cdrom', ControllerMapping> = { disk: fallbackFor(defaults.diskBusWhenNoController), cdrom: fallbackFor(defaults.cdromBusWhenNoController) };
  const controllers: DomainController[] = [];
  const indexOf = new Map<string, number>();
  const nextIndex = (type: string) => controllers.filter((c) => c.type === type).length;
  const controllerIndex = (key: string, m: ControllerMapping): number => {
    const known = indexOf.get(key);
    if (known !== undefined) return known;
    // IDE addressing: every OVF IDE controller is a channel (bus) of libvirt's one IDE controller.
    const shared = m.address === 'ide';
    const index = shared ? 0 : nextIndex(m.type);
    if (!(shared && controllers.some((c) => c.type === m.type))) controllers.push({ type: m.type, index, ...(m.model ? { model: m.model } : {}) });
    indexOf.set(key, index);
    return index;
  };

  const used = new Set<string>();
  const disks: PlannedDisk[] = [];
  const devCount: Record<string, number> = {};
  const ideBusOf = new Map<string, number>();
  let ideOrdinal = 0;
  for (const a of input.attachments) {
    let parent: { mapping: ControllerMapping; item?: Item } | undefined = parentOf(a);
    let key = parentId(a) ?? '';
    const label = a.kind === 'item' ? `Item InstanceID ${a.item.instanceId}` : `The ${a.content} CD-ROM`;
    if (!parent || (parent.mapping.machine !== undefined && parent.mapping.machine !== machine)) {
      if (!parent && parentId(a) !== undefined) warnings.push(`${label}: Parent ${parentId(a)} is no known controller; attached to ${fallback[a.device].diskBus}`);
      parent = { mapping: fallback[a.device] };
      key = `auto-${fallback[a.device].type}`;
    }
    const m = parent.mapping;
    const bus = a.device === 'cdrom' ? (m.cdromBus ?? m.diskBus) : m.diskBus;
    let address: DriveAddress | undefined;
    if (!system.busesWithoutDriveAddress.includes(bus)) {
      const index = controllerIndex(m.address === 'ide' ? m.type : key, m);
      let ideBus = 0;
      if (m.address === 'ide') {
        const channel = parent.item?.address;
        if (!ideBusOf.has(key)) ideBusOf.set(key, channel !== undefined && /^[01]$/.test(channel) ? Number(channel) : ideOrdinal++ % 2);
        ideBus = ideBusOf.get(key)!;
      }
      const onParent = a.kind === 'item' ? a.item.addressOnParent : undefined;
      const wanted = onParent !== undefined && /^\d+$/.test(onParent) ? Number(onParent) : undefined;
      const slotKey = (n: number) => `${m.type}/${index}/${ideBus}/${n}`;
      let slot = wanted;
      if (slot === undefined || slot > m.maxAddress || used.has(slotKey(slot))) {
        const free = Array.from({ length: m.maxAddress + 1 }, (_, n) => n).find((n) => !used.has(slotKey(n)));
        if (free === undefined) {
          warnings.push(`${label}: no free address on its ${m.type} controller; left out`);
          continue;
        }
        if (wanted !== undefined) warnings.push(`${label}: AddressOnParent ${wanted} is taken or beyond ${m.maxAddress} on ${m.model ?? m.type}; using ${free}`);
        slot = free;
      }
      used.add(slotKey(slot));
      address = m.address === 'target' ? { controller: index, bus: 0, target: slot, unit: 0 } : { controller: index, bus: ideBus, target: 0, unit: slot };
    }
    const prefix = devPrefix(bus, input.targetDev);
    // IDE names follow the address: hda 0:0, hdb 0:1, hdc 1:0, hdd 1:1.
    const n = m.address === 'ide' && address ? address.bus * 2 + address.unit : (devCount[prefix] ?? 0);
    devCount[prefix] = Math.max(devCount[prefix] ?? 0, n + 1);
    const origin =
      a.kind === 'item'
        ? { instanceId: a.item.instanceId, ...(a.item.elementName ? { elementName: a.item.elementName } : {}), ...(a.ovfDisk ? { ovfDisk: a.ovfDisk } : {}), ...(a.file ? { file: a.file } : {}) }
        : { generated: a.content };
    disks.push({ ...origin, device: a.device, bus, dev: devName(prefix, n), ...(address ? { address } : {}) });
  }
  // Boot order: hard disks first, in Item order, then CD-ROMs that have media.
  let order = 1;
  const ordered = [...disks.filter((d) => d.device === 'disk'), ...disks.filter((d) => d.device === 'cdrom' && d.file)];
  const boot = new Map(ordered.map((d) => [d, order++] as const));
  return { machine, controllers, disks: disks.map((d) => (boot.has(d) ? { ...d, bootOrder: boot.get(d)! } : d)) };
}
