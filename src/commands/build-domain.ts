// Assembles the DomainSpec from an ImportPlan and the disk sources the import created (or will create).
import type { DomainDescription, DomainDisk, DomainDiskSource } from '../domain/model.js';
import type { DiskPlan, ImportPlan } from './plan.js';

/** Where one planned drive's bytes are in the final domain, and their format. */
export interface ResolvedSource {
  readonly source: DomainDiskSource;
  readonly format: 'qcow2' | 'raw';
}

/** File name extension of a target: .qcow2, .img for raw disks, .iso for CD-ROM media. */
export function targetName(disk: DiskPlan, format: 'qcow2' | 'raw'): string {
  const ext = disk.planned.device === 'cdrom' ? 'iso' : format === 'qcow2' ? 'qcow2' : 'img';
  return `${disk.volumeBase}.${ext}`;
}

/** Target format of one drive: CD-ROM media stay raw; disks take the import's format. */
export function targetFormat(disk: DiskPlan, format: 'qcow2' | 'raw'): 'qcow2' | 'raw' {
  return disk.planned.device === 'cdrom' ? 'raw' : format;
}

/**
 * Builds the domain. Memory is converted from bytes to KiB (rounded up).
 * @param sources one entry per plan.disks element, same order.
 */
export function buildDomainSpec(
  plan: ImportPlan,
  opts: { type: 'kvm' | 'qemu'; uuid: string; sources: readonly ResolvedSource[]; serialLog?: string },
): DomainDescription {
  const m = plan.mapped;
  const disks: DomainDisk[] = plan.disks.map((d, i) => {
    const resolved = opts.sources[i]!;
    const p = d.planned;
    return {
      device: p.device,
      bus: p.bus,
      dev: p.dev,
      driverType: resolved.format,
      source: resolved.source,
      ...(p.address ? { address: p.address } : {}),
      ...(p.bootOrder !== undefined ? { bootOrder: p.bootOrder } : {}),
    };
  });
  const usbControllers = m.usb.map((u, index) => ({ type: 'usb' as const, index, model: u.model }));
  const description = [plan.virtualSystem.annotation, `Imported by virt-ovf from ${plan.archive.source} (VirtualSystem "${plan.virtualSystem.id}")`]
    .filter(Boolean)
    .join('\n\n');
  const defaults = plan.mappings.defaults;
  return {
    type: opts.type,
    name: plan.name,
    uuid: opts.uuid,
    description,
    memoryBytes: Math.ceil(m.memoryBytes / 1024) * 1024,
    vcpus: m.vcpus,
    arch: m.arch,
    machine: m.machine,
    firmware: m.firmware,
    secureBoot: m.secureBoot,
    clockOffset: m.osFamily === 'windows' ? 'localtime' : 'utc',
    controllers: [...m.controllers, ...usbControllers],
    disks,
    interfaces: m.nics.map((n) => ({ type: n.source.type, ...(n.source.type === 'network' ? { source: n.source.network } : n.source.type === 'bridge' ? { source: n.source.bridge } : {}), model: n.model, ...(n.mac ? { mac: n.mac } : {}) })),
    videos: m.video ? [m.video] : [],
    sounds: m.sounds,
    serialConsole: defaults.serialConsole,
    ...(opts.serialLog ? { serialLog: opts.serialLog } : {}),
    ...(defaults.graphics.type !== 'none' ? { graphics: { type: defaults.graphics.type, listen: defaults.graphics.listen } } : {}),
    ...(m.topology ? { topology: m.topology } : {}),
    ...(m.osinfo ? { osinfo: m.osinfo } : {}),
    ...(m.tpm ? { tpm: m.tpm } : {}),
  };
}
