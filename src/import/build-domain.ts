// Assembles the DomainDescription from an ImportPlan and its drives with their targets.
import { productSectionsInForce } from '../domain/metadata.js';
import type { DomainDescription, DomainDisk, ImportMetadata } from '../domain/model.js';
import { domainToXml } from '../domain/xml.js';
import type { ImportPlan } from './plan.js';
import type { TargetedDrive } from './targets.js';

/** What the domain needs beyond the plan. */
export interface DomainChoices {
  readonly type: 'kvm' | 'qemu';
  readonly uuid: string;
  /** Host file the serial console is also logged to. */
  readonly serialLog?: string;
}

/**
 * Builds the domain. Memory is rounded up to whole KiB; each drive's <source> is its target (none
 * for an empty CD-ROM); the clock offset follows the OS family (system.json).
 */
export function buildDomainSpec(plan: ImportPlan, drives: readonly TargetedDrive[], opts: DomainChoices): DomainDescription {
  const m = plan.mapped;
  const system = plan.mappings.system;
  const disks: DomainDisk[] = drives.map(({ placed: p, target }) => ({
    device: p.device,
    bus: p.bus,
    dev: p.dev,
    driverType: target?.format ?? system.volumes.cdromFormat,
    source: target?.source ?? { type: 'none' },
    ...(p.address ? { address: p.address } : {}),
    ...(p.bootOrder !== undefined ? { bootOrder: p.bootOrder } : {}),
  }));
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
    clockOffset: (m.osFamily !== undefined ? system.clock.byOsFamily[m.osFamily] : undefined) ?? system.clock.default,
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

/** The domain XML, with virt-ovf's metadata (see {@link importMetadata}). */
export function buildDomainXml(plan: ImportPlan, drives: readonly TargetedDrive[], opts: DomainChoices): string {
  return domainToXml(buildDomainSpec(plan, drives, opts), plan.mappings.domain, importMetadata(plan, drives));
}

/**
 * What <metadata><virt-ovf:import> records, for export to give the package back: the package,
 * VirtualSystem and profile; the ProductSections with the values in force (productSectionsInForce);
 * the environment transports and the CD-ROM ovf-env.xml was attached on.
 */
export function importMetadata(plan: ImportPlan, drives: readonly TargetedDrive[]): ImportMetadata {
  const drive = drives.find((d) => d.kind === 'generated' && d.content === 'ovf-env');
  const cdrom = drive?.target ? { dev: drive.placed.dev, source: drive.target.source } : undefined;
  const transport = plan.virtualSystem.hardware.transport;
  const productSections = productSectionsInForce([...plan.envelope.productSections, ...plan.virtualSystem.productSections], plan.properties);
  return {
    source: plan.archive.source,
    virtualSystem: plan.virtualSystem.id,
    profile: plan.profile,
    ...(productSections.length > 0 ? { productSections } : {}),
    ...(transport.length > 0 || cdrom ? { environment: { transport, ...(cdrom ? { cdrom } : {}) } } : {}),
  };
}
