// Places disks and CD-ROMs on libvirt controllers: indexes, drive addresses, target names, boot order.
import type { DomainController, DriveAddress } from '../domain/model.js';
import { devName, devPrefix } from '../domain/target-dev.js';
import { PackageError } from '../errors.js';
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
  /** The descriptor, for error messages. */
  readonly file: string;
  readonly warnings: string[];
}

/**
 * Keys of the controllers a layout uses. Each kind has its own prefix, so no descriptor
 * InstanceID can name a controller virt-ovf adds (a fallback, the one shared IDE controller, an
 * additional controller a full one grows into).
 */
const controllerKey = {
  item: (instanceId: string) => `item:${instanceId}`,
  fallback: (type: string) => `fallback:${type}`,
  shared: (type: string) => `shared:${type}`,
  grown: (n: number, of: string) => `grown:${n}:${of}`,
};

/**
 * Lays out storage. Controllers that end up with no device are left out; a device whose
 * Parent is missing, unknown or unusable on the chosen machine goes to the defaults'
 * bus (SATA), at the first free address. Out-of-range or taken addresses are moved to the
 * first free one with a warning; a drive its controller has no free address for goes to an
 * additional controller of the same model, with a warning.
 * @throws PackageError when a full controller's table row says `"grows": false` (IDE: libvirt's
 *   one IDE controller has two channels of two units), naming how many drives it was given.
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
  const labelOf = (a: StorageAttachment) => (a.kind === 'item' ? `Item InstanceID ${a.item.instanceId}` : `The ${a.content} CD-ROM`);
  // Each drive's controller: its Parent's, else the fallback of its device kind.
  const resolved = input.attachments.map((a) => {
    const found = parentOf(a);
    if (found && (found.mapping.machine === undefined || found.mapping.machine === machine)) return { a, parent: found as { mapping: ControllerMapping; item?: Item }, key: controllerKey.item(parentId(a)!) };
    if (!found && parentId(a) !== undefined) warnings.push(`${labelOf(a)}: Parent ${parentId(a)} is no known controller; attached to ${fallback[a.device].diskBus}`);
    return { a, parent: { mapping: fallback[a.device] } as { mapping: ControllerMapping; item?: Item }, key: controllerKey.fallback(fallback[a.device].type) };
  });

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
  for (const { a, parent, key } of resolved) {
    const label = labelOf(a);
    const m = parent.mapping;
    const bus = a.device === 'cdrom' ? (m.cdromBus ?? m.diskBus) : m.diskBus;
    let address: DriveAddress | undefined;
    if (!system.busesWithoutDriveAddress.includes(bus)) {
      let ideBus = 0;
      if (m.address === 'ide') {
        const channel = parent.item?.address;
        if (!ideBusOf.has(key)) ideBusOf.set(key, channel !== undefined && /^[01]$/.test(channel) ? Number(channel) : ideOrdinal++ % 2);
        ideBus = ideBusOf.get(key)!;
      }
      const onParent = a.kind === 'item' ? a.item.addressOnParent : undefined;
      const wanted = onParent !== undefined && /^\d+$/.test(onParent) ? Number(onParent) : undefined;
      // The first controller of `ckey` (the drive's own, then the ones it grew into) with a free slot.
      const freeSlot = (ckey: string): { index: number; slot: number; own: boolean } | undefined => {
        const index = controllerIndex(m.address === 'ide' ? controllerKey.shared(m.type) : ckey, m);
        const isFree = (n: number) => !used.has(`${m.type}/${index}/${ideBus}/${n}`);
        const own = ckey === key;
        if (own && wanted !== undefined && wanted <= m.maxAddress && isFree(wanted)) return { index, slot: wanted, own };
        const slot = Array.from({ length: m.maxAddress + 1 }, (_, n) => n).find(isFree);
        return slot !== undefined ? { index, slot, own } : undefined;
      };
      let place = freeSlot(key);
      for (let n = 2; place === undefined; n++) {
        if (m.grows === false) {
          const count = resolved.filter((r) => r.key === key).length;
          const where = parent.item ? `controller Item InstanceID ${parent.item.instanceId}` : `the default ${m.type} controller`;
          const room = `${m.maxAddress + 1} addresses${m.address === 'ide' ? ' per channel' : ''}`;
          throw new PackageError(`${input.file}: ${count} drives are attached to ${where} (${room}) and another ${m.type} controller cannot be added, so ${label} has no address; virt-ovf leaves no drive out`, { file: input.file });
        }
        place = freeSlot(controllerKey.grown(n, key));
        if (place !== undefined) warnings.push(`${label}: its ${m.model ?? m.type} controller has no free address (${m.maxAddress + 1} in all); attached to an additional ${m.model ?? m.type} controller (index ${place.index})`);
      }
      if (wanted !== undefined && place.own && place.slot !== wanted) warnings.push(`${label}: AddressOnParent ${wanted} is taken or beyond ${m.maxAddress} on ${m.model ?? m.type}; using ${place.slot}`);
      used.add(`${m.type}/${place.index}/${ideBus}/${place.slot}`);
      address = m.address === 'target' ? { controller: place.index, bus: 0, target: place.slot, unit: 0 } : { controller: place.index, bus: ideBus, target: 0, unit: place.slot };
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
