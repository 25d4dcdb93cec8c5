// The VirtualSystem-wide parts export writes besides the hardware Items: the OperatingSystemSection
// (os.json read in reverse), the processor topology, and what import recorded of the package in the
// domain's metadata: its ProductSections and the OVF environment (DSP0243 9.5, 11).
import type { DomainDescription, DomainDisk, DomainDiskSource } from '../domain/model.js';
import type { ItemInput, ProductSection, VirtualSystemInput } from '../ovf/model.js';
import type { Mappings } from './load.js';

/**
 * The CIM OsType number and VMware guest id for the domain's libosinfo id (os.json read in
 * reverse): the `export.osinfo` entry, else the first vmwOsType (64-bit preferred) and
 * cimOsType keys naming the id, else the `export.family` entry of the id's family (known from
 * any id with the same vendor path), else of export.json's operatingSystemWhenUnknown family,
 * else that entry's own values.
 */
export function operatingSystem(domain: DomainDescription, mappings: Mappings): VirtualSystemInput['operatingSystem'] {
  const [os, osinfo] = [mappings.os, domain.osinfo];
  const explicit = osinfo !== undefined && Object.hasOwn(os.export.osinfo, osinfo) ? os.export.osinfo[osinfo] : undefined;
  if (explicit) return { id: explicit.cimOsType, vmwOsType: explicit.vmwOsType, description: osinfo! };
  const entries = [os.vmwOsType, os.vboxOsType, os.ovirtOsType, os.cimOsType].flatMap((t) => Object.values(t));
  const prefix = osinfo?.slice(0, osinfo.lastIndexOf('/') + 1);
  const unknown = mappings.export.operatingSystemWhenUnknown;
  const family = (entries.find((e) => e.osinfo === osinfo) ?? entries.find((e) => prefix && e.osinfo.startsWith(prefix)))?.family ?? unknown.family;
  const fallback = os.export.family[family] ?? unknown;
  const keys = (t: Readonly<Record<string, { osinfo: string }>>) => Object.keys(t).filter((k) => t[k]!.osinfo === osinfo);
  const [vmw, cim] = [keys(os.vmwOsType), keys(os.cimOsType)[0]];
  return {
    id: cim !== undefined ? Number(cim) : fallback.cimOsType,
    vmwOsType: vmw.find((k) => k.includes('64')) ?? vmw[0] ?? fallback.vmwOsType,
    ...(osinfo !== undefined ? { description: osinfo } : {}),
  };
}

/**
 * The processor Item's topology for the domain's <cpu><topology>: vmw:CoresPerSocket is the
 * logical CPUs of one socket (dies × cores × threads: VMware's meaning, as VMware has no guest
 * threads; virt-v2v reads it the same way), and threadsPerCore (virt-ovf:ThreadsPerCore) how many
 * of them are threads of one core, when more than one; import reads both back (system.json
 * coresPerSocket, threadsPerCore). Without a topology nothing is written: libvirt then gives a
 * socket per vCPU, as import does without CoresPerSocket. More than one die per socket is
 * written as cores, with a warning.
 */
export function processorTopology(domain: DomainDescription, warnings: string[]): Pick<ItemInput, 'coresPerSocket' | 'threadsPerCore'> {
  const t = domain.topology;
  if (!t) return {};
  const dies = t.dies ?? 1;
  const perSocket = dies * t.cores * t.threads;
  if (perSocket < 1 || domain.vcpus % perSocket !== 0) {
    warnings.push(`CPU topology: ${domain.vcpus} vCPU(s) are not a multiple of ${perSocket} per socket; the topology is left out`);
    return {};
  }
  if (dies > 1) warnings.push(`CPU topology: ${dies} dies per socket are not carried; written as ${dies * t.cores} cores per socket`);
  return { coresPerSocket: perSocket, ...(t.threads > 1 ? { threadsPerCore: t.threads } : {}) };
}

/** A <source> as one comparable string. */
const sourceKey = (s: DomainDiskSource): string =>
  s.type === 'volume' ? `volume:${s.pool}/${s.volume}` : s.type === 'file' ? `file:${s.path}` : s.type === 'block' ? `block:${s.dev}` : s.type === 'network' ? `network:${s.protocol}:${s.name}` : 'none';

/**
 * The CD-ROM import attached ovf-env.xml on, recognised from the domain's metadata
 * (ImportMetadata.environment.cdrom): the CD-ROM with that target dev and the same source. Export
 * leaves it out of the package (re-import writes it again from the ProductSection, through the
 * iso transport); a CD-ROM whose medium was changed since is an ordinary one.
 */
export function environmentCdrom(domain: DomainDescription): DomainDisk | undefined {
  const rec = domain.importMetadata?.environment?.cdrom;
  return rec ? domain.disks.find((d) => d.device === 'cdrom' && d.dev === rec.dev && sourceKey(d.source) === sourceKey(rec.source)) : undefined;
}

/**
 * What the VirtualSystem carries of the package import recorded in the domain's metadata: its
 * ProductSections with the values as set at import (a password has none: import does not record
 * it, so a warning names it), and the OVF environment transports as the descriptor declared them,
 * with export.json's environmentTransport (iso) added while the ovf-env.xml CD-ROM is attached,
 * so that re-import attaches it again with the same property values. Nothing for a domain import
 * did not make.
 */
export function packageRecord(domain: DomainDescription, mappings: Mappings, warnings: string[]): { productSections?: readonly ProductSection[]; transport?: readonly string[] } {
  const m = domain.importMetadata;
  const sections = m?.productSections ?? [];
  for (const p of sections.flatMap((s) => s.properties)) {
    if (p.password) warnings.push(`property ${p.key}: a password is not kept in the domain's metadata, so the package carries no value for it; give it again on import (--prop ${p.key}=...)`);
  }
  const recorded = m?.environment?.transport ?? [];
  const iso = mappings.export.environmentTransport;
  const transport = environmentCdrom(domain) && !recorded.includes(iso) ? [...recorded, iso] : recorded;
  return { ...(sections.length > 0 ? { productSections: sections } : {}), ...(transport.length > 0 ? { transport } : {}) };
}
