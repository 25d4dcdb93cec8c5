// `virt-ovf inspect`: the inspect report as text for the terminal (--json prints the report itself).
import { inspectPackage, type InspectReport } from '../import/inspect.js';
import type { InspectTarget } from '../import/inspect-target.js';
import type { InspectOptions } from '../import/options.js';
import { packagePaths, rethrowExplained } from './import.js';

/** Builds the inspect report (see inspectPackage); OS errors as FileError. */
export function runInspect(opts: InspectOptions): Promise<InspectReport> {
  return inspectPackage(opts).catch(rethrowExplained(packagePaths(opts)));
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
  if (r.package.bytesTransferred !== undefined) lines.push(`Transferred:    ${r.package.bytesTransferred} bytes from the server (headers, descriptor, manifest, certificate; no disk)`);
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
  if (r.target) lines.push(...formatTarget(r.target));
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

/** The Target section: where the disks would go, one line per volume (its data path in import --dry-run's words), and the free space. */
function formatTarget(t: InspectTarget): string[] {
  const where = t.pool ? `pool "${t.pool.name}" (type ${t.pool.type}) on ${t.uri ?? '?'}` : `directory ${t.dir ?? '?'} on this machine`;
  const lines = [`Target:         ${where}`];
  for (const v of t.volumes) {
    lines.push(`  ${v.dev.padEnd(5)} ${v.device} ${v.name} (${v.existing ? 'existing volume, written raw' : v.format}): ${v.via} (${v.reason})${v.exists ? '; it exists already, so import refuses it: choose another --name' : ''}`);
  }
  const s = t.space;
  const free = s.availableBytes !== undefined ? `, ${size(s.availableBytes)} free` : '';
  lines.push(`Free space:     ${size(s.neededBytes)} of volume data${free}: ${s.sufficient ? 'enough' : `not enough (${s.problem ?? 'import would refuse'})`}`);
  return lines;
}
