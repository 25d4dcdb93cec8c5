// `virt-ovf inspect`: what import would create, as a structured report or text.
import { verifyCertificate } from '../archive/certificate.js';
import { planImport, type PlanOptions } from './plan.js';

/** The inspect report (`--json` prints it as is). Sizes in bytes. */
export interface InspectReport {
  readonly package: { source: string; kind: string; descriptor: string; ovfVersion: string; producer: string };
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
  /** License texts; import needs --accept-eula when there is one. */
  readonly eulas: readonly string[];
  /** Who signed the package (.cert), when it is signed and the signature holds. */
  readonly signature?: { signer: string; issuer: string; validTo: string; trusted: boolean; problems: readonly string[] };
  readonly warnings: readonly string[];
}

/** Builds the inspect report; touches neither libvirt nor the disks (missing files are warnings). */
export async function runInspect(opts: PlanOptions): Promise<InspectReport> {
  const plan = await planImport({ ...opts, descriptorOnly: true });
  const warnings = [...plan.warnings];
  let signature: InspectReport['signature'];
  try {
    const r = await verifyCertificate(plan.archive);
    if (r) signature = { signer: r.signer, issuer: r.issuer, validTo: r.validTo.toISOString(), trusted: r.chainTrusted, problems: r.problems };
  } catch (err) {
    warnings.push(`signature: ${(err as Error).message}`);
  }
  const m = plan.mapped;
  const os = plan.virtualSystem.operatingSystem;
  const controllers = m.controllers;
  return {
    package: { source: plan.archive.source, kind: plan.archive.kind, descriptor: plan.archive.descriptorName, ovfVersion: plan.envelope.version, producer: plan.envelope.producer },
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
    disks: plan.disks.map((d) => {
      const p = d.planned;
      const ctrl = p.address ? controllers.find((c) => c.index === p.address!.controller && (c.type === p.bus || (p.bus === 'sata' && c.type === 'sata'))) : undefined;
      const entry = d.file ? plan.archive.find(d.file.chunkSizeBytes !== undefined ? `${d.file.href}.000000000` : d.file.href) : undefined;
      return {
        dev: p.dev,
        device: p.device,
        bus: p.bus,
        ...(ctrl ? { controller: `${ctrl.type}${ctrl.index}${ctrl.model ? ` (${ctrl.model})` : ''}` } : {}),
        ...(p.address ? { address: `${p.address.controller}:${p.address.bus}:${p.address.target}:${p.address.unit}` } : {}),
        ...(p.ovfDisk ? { diskId: p.ovfDisk.diskId } : {}),
        ...(d.file ? { file: d.file.href } : {}),
        ...(d.sourceFormat ? { format: d.sourceFormat } : {}),
        capacityBytes: d.capacityBytes,
        ...(entry ? { fileSizeBytes: entry.size } : d.file?.sizeBytes !== undefined ? { fileSizeBytes: d.file.sizeBytes } : {}),
        present: d.file === undefined || entry !== undefined,
        generated: d.generated !== undefined,
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
    warnings,
  };
}

function size(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

/** Renders the report as aligned text. */
export function formatInspect(r: InspectReport): string {
  const lines: string[] = [];
  const d = r.domain;
  lines.push(`Package:        ${r.package.source} (${r.package.kind === 'ova' ? 'OVA' : 'OVF directory'}, descriptor ${r.package.descriptor}, OVF ${r.package.ovfVersion}, producer ${r.package.producer})`);
  if (r.virtualSystems.length > 1) lines.push(`VirtualSystems: ${r.virtualSystems.map((v) => `${v.id}${v.selected ? ' (selected)' : ''}`).join(', ')}`);
  lines.push(`Domain name:    ${d.name}`);
  lines.push(`vCPUs:          ${d.vcpus}${d.topology ? ` (${d.topology.sockets} socket(s) × ${d.topology.cores} core(s))` : ''}`);
  lines.push(`Memory:         ${size(d.memoryBytes)}`);
  lines.push(`Firmware:       ${d.firmware}${d.secureBoot ? ' with secure boot' : ''}; machine ${d.machine}`);
  if (d.os) lines.push(`OS:             ${[d.os.vmwOsType, d.os.cimId !== undefined ? `CIM ${d.os.cimId}` : undefined, d.os.description].filter(Boolean).join(', ')}${d.os.osinfo ? ` -> ${d.os.osinfo}` : ''}`);
  lines.push('Disks:');
  for (const k of r.disks) {
    const what = k.generated ? 'ovf-env.xml (generated)' : k.file ? `${k.file} (${k.format ?? '?'}${k.fileSizeBytes !== undefined ? `, ${size(k.fileSizeBytes)}` : ''})${k.present ? '' : ' MISSING'}` : k.device === 'cdrom' ? 'empty' : 'empty disk';
    lines.push(`  ${k.dev.padEnd(5)} ${k.device.padEnd(5)} bus ${k.bus.padEnd(6)} ${k.controller ?? '-'} addr ${k.address ?? '-'}  capacity ${size(k.capacityBytes)}  ${what}`);
  }
  lines.push('NICs:');
  for (const n of r.nics) lines.push(`  ${n.model.padEnd(8)} ${n.mac ?? '(MAC assigned by libvirt)'}  OVF network "${n.ovfNetwork ?? ''}" -> ${n.attachTo}${n.defaulted ? ' (default: map it with --network or --bridge)' : ''}`);
  if (r.signature) {
    lines.push(`Signed by:      ${r.signature.signer} (issuer ${r.signature.issuer}, valid until ${r.signature.validTo})${r.signature.problems.length ? `; ${r.signature.problems.join('; ')}` : ''}`);
  }
  if (r.deploymentOptions.length > 0) {
    lines.push(`Deployment:     ${r.deploymentOptions.map((d) => `${d.id}${d.selected ? ' (selected)' : ''}${d.isDefault ? ' (default)' : ''}`).join(', ')}`);
  }
  if (r.properties.length > 0) {
    lines.push('Properties:');
    for (const p of r.properties) {
      lines.push(`  ${p.key} (${p.type}${p.userConfigurable ? '' : ', fixed'}) = ${p.value === undefined ? '(no value)' : JSON.stringify(p.value)}${p.label ? `  ${p.label}` : ''}`);
    }
  }
  if (r.ovfEnvironment.transport.length > 0 || r.ovfEnvironment.attached) {
    lines.push(`OVF environment: transport ${r.ovfEnvironment.transport.join(', ') || '(none)'}; ${r.ovfEnvironment.attached ? 'ovf-env.xml attached on a CD-ROM' : 'not attached (--ovf-env attaches it)'}`);
  }
  for (const [i, eula] of r.eulas.entries()) {
    const text = eula.split('\n').map((l) => l.trim()).filter(Boolean);
    lines.push(`EULA ${i + 1}/${r.eulas.length} (import needs --accept-eula):`);
    for (const l of text.slice(0, 5)) lines.push(`  ${l}`);
    if (text.length > 5) lines.push(`  ... ${text.length - 5} more line(s); --json gives the full text`);
  }
  if (r.warnings.length > 0) {
    lines.push('Warnings:');
    for (const w of r.warnings) lines.push(`  ${w}`);
  }
  return lines.join('\n') + '\n';
}
