// inspectPackage: what import would create, as a structured report (commands/inspect.ts renders it as text).
import { verifyCertificate } from '../archive/certificate.js';
import { sourceOptionsOf, type InspectOptions } from './options.js';
import { readingMode } from '../archive/stream-package.js';
import { planArchive, planImport, type ImportPlan } from './plan.js';
import { openSource } from '../archive/archive.js';
import { isHttpUrl } from '../source/http-source.js';
import { planSequential, sequentialNotes } from './sequential.js';
import { checkInspectUsage, inspectTarget, wantsTarget, type InspectTarget } from './inspect-target.js';

/** The inspect report (`--json` prints it as is). Sizes in bytes. */
export interface InspectReport {
  /** `bytesTransferred`: for a URL, the bytes read from the server (tar headers, descriptor, manifest, certificate); absent for a local package. */
  readonly package: { source: string; kind: string; descriptor: string; ovfVersion: string; producer: string; bytesTransferred?: number };
  readonly virtualSystems: readonly { id: string; name?: string; selected: boolean }[];
  readonly domain: {
    name: string;
    vcpus: number;
    topology?: { sockets: number; cores: number; threads: number };
    memoryBytes: number;
    firmware: string;
    secureBoot: boolean;
    machine: string;
    os?: { cimId?: number; vmwOsType?: string; description?: string; osinfo?: string };
  };
  readonly disks: readonly {
    dev: string;
    device: string;
    bus: string;
    controller?: string;
    address?: string;
    diskId?: string;
    file?: string;
    format?: string;
    capacityBytes: number;
    fileSizeBytes?: number;
    present: boolean;
    /** True for the OVF environment CD-ROM that import generates. */
    generated: boolean;
  }[];
  readonly nics: readonly { model: string; mac?: string; ovfNetwork?: string; attachTo: string; defaulted: boolean }[];
  readonly deploymentOptions: readonly { id: string; label?: string; isDefault: boolean; selected: boolean }[];
  /** ProductSection properties; a password's value is replaced by "(hidden)". */
  readonly properties: readonly { key: string; type: string; value?: string; label?: string; userConfigurable: boolean; password: boolean; qualifiers?: string }[];
  /** OVF environment transport asked for by the descriptor, and whether import attaches ovf-env.xml. */
  readonly ovfEnvironment: { transport: readonly string[]; attached: boolean };
  /** License texts; import needs acceptEula when there is one. */
  readonly eulas: readonly string[];
  /** Who signed the package (.cert), when it is signed and the signature holds. */
  readonly signature?: { signer: string; issuer: string; validTo: string; trusted: boolean; problems: readonly string[] };
  /** With a pool or output directory (options `pool`, `outputDir`): each disk's volume, its data path and why, and the free space; absent otherwise. */
  readonly target?: InspectTarget;
  readonly warnings: readonly string[];
}

/**
 * Builds the inspect report; touches neither libvirt nor the disks (missing files are warnings).
 * With `pool` (or `outputDir`) it also reads that target as import would (inspect-target.ts),
 * creating nothing.
 * @throws what planImport throws for an unreadable package or descriptor, an unknown vm, profile
 *   or property; what checkInspectUsage and inspectTarget throw.
 */
export async function inspectPackage(opts: InspectOptions): Promise<InspectReport> {
  checkInspectUsage(opts);
  let oneShot = (await readingMode(opts.source)) === 'sequential';
  let plan: ImportPlan;
  if (isHttpUrl(opts.source)) {
    // A URL: by range requests (headers, descriptor, manifest, certificate), else the front of its body.
    const source = await openSource(opts.source, sourceOptionsOf(opts));
    oneShot = 'sequential' in source;
    plan = 'sequential' in source ? await planSequential(opts, source.sequential.stream) : await planArchive(source.archive, { ...opts, descriptorOnly: true });
    if ('sequential' in source) (plan.archive as { bytesTransferred: number }).bytesTransferred = source.sequential.bytesTransferred();
  } else {
    plan = oneShot ? await planSequential(opts) : await planImport({ ...opts, descriptorOnly: true });
  }
  const warnings = [...plan.warnings];
  let signature: InspectReport['signature'];
  try {
    const r = oneShot ? undefined : await verifyCertificate(plan.archive);
    if (r) signature = { signer: r.signer, issuer: r.issuer, validTo: r.validTo.toISOString(), trusted: r.chainTrusted, problems: r.problems };
  } catch (err) {
    warnings.push(`signature: ${(err as Error).message}`);
  }
  if (oneShot) warnings.push(...sequentialNotes(plan));
  const target = wantsTarget(opts) ? await inspectTarget(plan, opts) : undefined;
  const m = plan.mapped;
  const os = plan.virtualSystem.operatingSystem;
  const controllers = m.controllers;
  const a = plan.archive;
  return {
    package: { source: a.source, kind: a.kind, descriptor: a.descriptorName, ovfVersion: plan.envelope.version, producer: plan.producer, ...(isHttpUrl(opts.source) ? { bytesTransferred: a.bytesTransferred } : {}) },
    virtualSystems: plan.envelope.virtualSystems.map((v) => ({ id: v.id, ...(v.name ? { name: v.name } : {}), selected: v === plan.virtualSystem })),
    domain: {
      name: plan.name,
      vcpus: m.vcpus,
      ...(m.topology ? { topology: m.topology } : {}),
      memoryBytes: m.memoryBytes,
      firmware: m.firmware,
      secureBoot: m.secureBoot,
      machine: m.machine,
      ...(os || m.osinfo
        ? {
            os: {
              ...(os?.id !== undefined ? { cimId: os.id } : {}),
              ...(os?.vmwOsType ? { vmwOsType: os.vmwOsType } : {}),
              ...(os?.description ? { description: os.description } : {}),
              ...(m.osinfo ? { osinfo: m.osinfo } : {}),
            },
          }
        : {}),
    },
    disks: plan.drives.map((d) => {
      const p = d.placed;
      const ctrl = p.address ? controllers.find((c) => c.index === p.address!.controller && (c.type === p.bus || (p.bus === 'sata' && c.type === 'sata'))) : undefined;
      const stored = d.kind === 'file' ? d.stored.parts[0] : undefined;
      return {
        dev: p.dev,
        device: p.device,
        bus: p.bus,
        ...(ctrl ? { controller: `${ctrl.type}${ctrl.index}${ctrl.model ? ` (${ctrl.model})` : ''}` } : {}),
        ...(p.address ? { address: `${p.address.controller}:${p.address.bus}:${p.address.target}:${p.address.unit}` } : {}),
        ...(d.kind !== 'generated' && d.ovfDisk ? { diskId: d.ovfDisk.diskId } : {}),
        ...(d.kind === 'file' ? { file: d.file.href } : {}),
        ...(d.kind === 'file' && d.format ? { format: d.format } : {}),
        capacityBytes: d.capacityBytes,
        ...(stored ? { fileSizeBytes: stored.size } : d.kind === 'file' && d.file.sizeBytes !== undefined ? { fileSizeBytes: d.file.sizeBytes } : {}),
        present: d.kind !== 'file' || stored !== undefined,
        generated: d.kind === 'generated',
      };
    }),
    nics: m.nics.map((n) => ({
      model: n.model,
      ...(n.mac ? { mac: n.mac } : {}),
      ...(n.ovfNetwork ? { ovfNetwork: n.ovfNetwork } : {}),
      attachTo: n.source.type === 'network' ? `network ${n.source.network}` : n.source.type === 'bridge' ? `bridge ${n.source.bridge}` : 'user-mode networking',
      defaulted: n.defaulted,
    })),
    deploymentOptions: plan.envelope.deploymentOptions.map((d) => ({ id: d.id, ...(d.label ? { label: d.label } : {}), isDefault: d.isDefault, selected: d.id === plan.envelope.deployment })),
    properties: plan.properties.map((p) => ({
      key: p.key,
      type: p.type,
      userConfigurable: p.userConfigurable,
      password: p.password,
      ...(p.value !== undefined ? { value: p.password ? '(hidden)' : p.value } : {}),
      ...(p.label ? { label: p.label } : {}),
      ...(p.qualifiers ? { qualifiers: p.qualifiers } : {}),
    })),
    ovfEnvironment: { transport: plan.virtualSystem.hardware.transport, attached: plan.ovfEnvironment !== undefined },
    eulas: plan.eulas,
    ...(signature ? { signature } : {}),
    ...(target ? { target } : {}),
    warnings,
  };
}

