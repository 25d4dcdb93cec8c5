// The one place the golden and corpus tests reach into virt-ovf: the import CLI (run as a
// process, --print-xml) and the library functions of export (domain XML → OVF descriptor) and of
// descriptor parsing and mapping. Everything else in test/golden and test/corpus goes through here.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { parseDomainXml } from '../../src/domain/parse.js';
import { mapVirtualSystem } from '../../src/mapping/apply.js';
import { loadMappings } from '../../src/mapping/load.js';
import { mapDomainToOvf, type DriveInput } from '../../src/mapping/reverse.js';
import { environmentCdrom } from '../../src/mapping/reverse-system.js';
import { safeName } from '../../src/naming.js';
import { parseEnvelope } from '../../src/ovf/parse.js';
import { writeEnvelope } from '../../src/ovf/write.js';
import { CLI } from '../commands/helpers.js';

const run = promisify(execFile);

/**
 * `virt-ovf import FILE --print-xml --virt-type qemu -c test:///default ARGS` in `cwd` (FILE
 * relative to it, so the XML names no host path); the disk files need not exist, libvirt need not
 * be installed. @returns the domain XML on stdout. @throws when the CLI exits non-zero (with its stderr).
 */
export async function importDomainXml(cwd: string, file: string, args: readonly string[]): Promise<string> {
  const argv = [CLI, 'import', file, '--print-xml', '--virt-type', 'qemu', '-c', 'test:///default', ...args];
  try {
    return (await run(process.execPath, argv, { cwd, env: { ...process.env, LIBVIRT_DEFAULT_URI: 'test:///default' }, maxBuffer: 16 * 2 ** 20 })).stdout;
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    throw new Error(`virt-ovf import ${file} ${args.join(' ')} exited with ${String(e.code)}:\n${e.stderr ?? String(err)}`);
  }
}

/** Options of {@link exportDescriptor}, as `virt-ovf export` spells them. */
export interface ExportCaseOptions {
  readonly ovfVersion: 1 | 2;
  readonly profile: string;
  readonly diskFormat: 'vmdk' | 'qcow2' | 'raw';
  readonly lax: boolean;
}

/**
 * The OVF descriptor `virt-ovf export` writes for a domain, without reading any disk: files are
 * named as export names them (DOMAIN-diskN.EXT, DOMAIN-cdromN.iso, N counting the drives whose
 * source is a file, block device or volume, but the ovf-env.xml CD-ROM import attached), hard disk N has a virtual size of N GiB, and file sizes are left out (export fills them
 * in once the files are written). @returns the descriptor text and the mapping warnings.
 */
export function exportDescriptor(domainXml: string, opts: ExportCaseOptions): { ovf: string; warnings: readonly string[] } {
  const mappings = loadMappings();
  const domain = parseDomainXml(domainXml, mappings.domain);
  const name = safeName(domain.name);
  let n = 0;
  const environment = environmentCdrom(domain);
  const drives: DriveInput[] = domain.disks.map((disk) => {
    if (!['file', 'block', 'volume'].includes(disk.source.type) || disk.device === 'floppy' || disk.device === 'lun' || disk === environment) return { disk };
    n++;
    const cdrom = disk.device === 'cdrom';
    const format = cdrom ? 'raw' : opts.diskFormat;
    const ext = cdrom ? 'iso' : format === 'raw' ? 'img' : format;
    return { disk, image: { href: `${name}-${cdrom ? 'cdrom' : 'disk'}${n}.${ext}`, format, capacityBytes: cdrom ? 0 : n * 2 ** 30 } };
  });
  const reverse = mapDomainToOvf(domain, mappings, { ovfVersion: opts.ovfVersion, profile: opts.profile, ...(opts.lax ? { lax: true } : {}), drives });
  return { ovf: writeEnvelope(reverse.envelope, { version: opts.ovfVersion, rules: mappings.domain.ovf }), warnings: reverse.warnings };
}

/** What one VirtualSystem of a descriptor becomes, in terms that do not depend on virt-ovf's types. */
export interface MappedView {
  readonly id: string;
  readonly vcpus: number;
  readonly memoryBytes: number;
  readonly firmware: string;
  readonly drives: readonly { readonly device: string; readonly bus: string }[];
  readonly nics: readonly { readonly model: string; readonly mac?: string }[];
  readonly warnings: readonly string[];
}

/** A descriptor parsed and each of its VirtualSystems mapped under `profile`. @throws what parsing or mapping throws. */
export function parseAndMap(path: string, name: string, profile: string): { version: string; systems: MappedView[] } {
  const env = parseEnvelope(readFileSync(path), name);
  const mappings = loadMappings();
  const systems = env.virtualSystems.map((vs) => {
    const m = mapVirtualSystem(env, vs, mappings, { profile, lax: true });
    return {
      id: vs.id,
      vcpus: m.vcpus,
      memoryBytes: m.memoryBytes,
      firmware: m.firmware,
      drives: m.disks.map((d) => ({ device: d.device, bus: d.bus })),
      nics: m.nics.map((nic) => ({ model: nic.model, ...(nic.mac !== undefined ? { mac: nic.mac } : {}) })),
      warnings: [...env.warnings, ...m.warnings],
    };
  });
  return { version: env.version, systems };
}
