// Places disks and CD-ROMs on libvirt controllers: indexes, drive addresses, target names, boot order.
import type { DomainController, DriveAddress } from '../domain/model.js';
import { devName, devPrefix } from '../domain/target-dev.js';
import type { Item, OvfDisk, OvfFile } from '../ovf/model.js';
import type { ControllerMapping, Defaults } from './load.js';
import type { DomainRules } from './schema/domain.js';

/** A disk or CD-ROM Item with what its HostResource resolved to. */
export interface StorageAttachment {
  readonly item: Item;
  readonly device: 'disk' | 'cdrom';
  readonly ovfDisk?: OvfDisk;
  readonly file?: OvfFile;
}

/** A disk or CD-ROM placed on a controller; its source is decided later by the import. */
export interface PlannedDisk {
  readonly instanceId: string;
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
  const { defaults, warnings } = input;
  const parentOf = (a: StorageAttachment) => (a.item.parent !== undefined ? input.controllers.get(a.item.parent) : undefined);
  const needsPc = input.attachments.some((a) => parentOf(a)?.mapping.machine === 'pc');
  const machine = needsPc && !input.forceQ35 ? 'pc' : needsPc ? 'q35' : input.profileMachine;
  if (needsPc && input.forceQ35) warnings.push('secure boot needs the q35 machine, which has no IDE: IDE devices move to SATA');

  const fallback: Record<'disk' | 'cdrom', ControllerMapping> = {
    disk: { type: defaults.diskBusWhenNoController === 'virtio' ? 'sata' : defaults.diskBusWhenNoController, diskBus: defaults.diskBusWhenNoController, address: 'unit', maxAddress: 5 },
    cdrom: { type: defaults.cdromBusWhenNoController, diskBus: defaults.cdromBusWhenNoController, address: defaults.cdromBusWhenNoController === 'ide' ? 'ide' : 'unit', maxAddress: defaults.cdromBusWhenNoController === 'ide' ? 1 : 5 },
  };
  const controllers: DomainController[] = [];
  const indexOf = new Map<string, number>();
  const nextIndex = (type: string) => controllers.filter((c) => c.type === type).length;
  const controllerIndex = (key: string, m: ControllerMapping): number => {
    const known = indexOf.get(key);
    if (known !== undefined) return known;
    const index = m.type === 'ide' ? 0 : nextIndex(m.type);
    if (!(m.type === 'ide' && controllers.some((c) => c.type === 'ide'))) controllers.push({ type: m.type, index, ...(m.model ? { model: m.model } : {}) });
    indexOf.set(key, index);
    return index;
  };

  const used = new Set<string>();
  const disks: PlannedDisk[] = [];
  const devCount: Record<string, number> = {};
  const ideBusOf = new Map<string, number>();
  let ideOrdinal = 0;
  for (const a of input.attachments) {
    let parent = parentOf(a);
    let key = a.item.parent ?? '';
    if (!parent || (parent.mapping.machine === 'pc' && machine !== 'pc')) {
      if (!parent && a.item.parent !== undefined) warnings.push(`Item InstanceID ${a.item.instanceId}: Parent ${a.item.parent} is no known controller; attached to ${fallback[a.device].diskBus}`);
      parent = { mapping: fallback[a.device], item: a.item };
      key = `auto-${fallback[a.device].type}`;
    }
    const m = parent.mapping;
    const bus = a.device === 'cdrom' ? (m.cdromBus ?? m.diskBus) : m.diskBus;
    let address: DriveAddress | undefined;
    if (bus !== 'virtio') {
      const index = controllerIndex(m.type === 'ide' ? 'ide' : key, m);
      let ideBus = 0;
      if (m.address === 'ide') {
        if (!ideBusOf.has(key)) ideBusOf.set(key, parent.item.address !== undefined && /^[01]$/.test(parent.item.address) ? Number(parent.item.address) : ideOrdinal++ % 2);
        ideBus = ideBusOf.get(key)!;
      }
      const wanted = a.item.addressOnParent !== undefined && /^\d+$/.test(a.item.addressOnParent) ? Number(a.item.addressOnParent) : undefined;
      const slotKey = (n: number) => `${m.type}/${index}/${ideBus}/${n}`;
      let slot = wanted;
      if (slot === undefined || slot > m.maxAddress || used.has(slotKey(slot))) {
        const free = Array.from({ length: m.maxAddress + 1 }, (_, n) => n).find((n) => !used.has(slotKey(n)));
        if (free === undefined) {
          warnings.push(`Item InstanceID ${a.item.instanceId}: no free address on its ${m.type} controller; left out`);
          continue;
        }
        if (wanted !== undefined) warnings.push(`Item InstanceID ${a.item.instanceId}: AddressOnParent ${wanted} is taken or beyond ${m.maxAddress} on ${m.model ?? m.type}; using ${free}`);
        slot = free;
      }
      used.add(slotKey(slot));
      address = m.address === 'target' ? { controller: index, bus: 0, target: slot, unit: 0 } : { controller: index, bus: ideBus, target: 0, unit: slot };
    }
    const prefix = devPrefix(bus, input.targetDev);
    const n = bus === 'ide' && address ? address.bus * 2 + address.unit : (devCount[prefix] ?? 0);
    devCount[prefix] = Math.max(devCount[prefix] ?? 0, n + 1);
    disks.push({
      instanceId: a.item.instanceId,
      device: a.device,
      bus,
      dev: devName(prefix, n),
      ...(a.item.elementName ? { elementName: a.item.elementName } : {}),
      ...(address ? { address } : {}),
      ...(a.ovfDisk ? { ovfDisk: a.ovfDisk } : {}),
      ...(a.file ? { file: a.file } : {}),
    });
  }
  // Boot order: hard disks first, in Item order, then CD-ROMs that have media.
  let order = 1;
  const ordered = [...disks.filter((d) => d.device === 'disk'), ...disks.filter((d) => d.device === 'cdrom' && d.file)];
  const boot = new Map(ordered.map((d) => [d, order++] as const));
  return { machine, controllers, disks: disks.map((d) => (boot.has(d) ? { ...d, bootOrder: boot.get(d)! } : d)) };
}
