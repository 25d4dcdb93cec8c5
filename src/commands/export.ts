// The export pipeline, top-down: read the domain, snapshot a running one, map it back to OVF, stream disks into the OVA.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { DomainDisk } from '../domain/model.js';
import { parseDomainXml } from '../domain/parse.js';
import { LibvirtSetupError, UsageError } from '../errors.js';
import { Connection, lookupDomainByName, lookupPool, VIR_DOMAIN_XML_INACTIVE, type Domain } from '../libvirt/index.js';
import { loadMappings } from '../mapping/load.js';
import { mapDomainToOvf, type DiskFile } from '../mapping/reverse.js';
import { safeName } from '../naming.js';
import type { Reporter } from '../report.js';
import { imageInfo, type ImageFormat } from '../storage/qemu-img.js';
import { backupDirectory, backupDisks } from './export-backup.js';
import { writePackage, type PackageDisk } from './export-package.js';
import { withSignals } from '../import/rollback.js';

/** Options of `virt-ovf export` (see man/virt-ovf.1). */
export interface ExportOptions {
  /** Domain name. */
  readonly domain: string;
  /** OUT.ova, or a directory (ends in / or exists as one) for an unpacked OVF package. */
  readonly output: string;
  readonly connect?: string;
  readonly ovfVersion: 1 | 2;
  readonly diskFormat: 'vmdk' | 'qcow2' | 'raw';
  /** deflate level of streamOptimized VMDK grains, 0-9. */
  readonly compressLevel: number;
  readonly manifest: 'sha1' | 'sha256' | 'sha512' | 'none';
  readonly signKey?: string;
  readonly signCert?: string;
  readonly profile: string;
  readonly mappingsDir?: string;
  readonly lax?: boolean;
}

/** What export wrote. Sizes in bytes. */
export interface ExportResult {
  readonly output: string;
  readonly kind: 'ova' | 'directory';
  readonly live: boolean;
  readonly files: readonly { name: string; sizeBytes: number; digest?: string }[];
  readonly warnings: readonly string[];
}

/** Where a domain disk's bytes are on the host (a file, a pool volume's path, a block device). */
function diskPath(conn: Connection, disk: DomainDisk): string | undefined {
  const s = disk.source;
  if (s.type === 'file') return s.path;
  if (s.type === 'block') return s.dev;
  if (s.type === 'volume') {
    const pool = lookupPool(conn, s.pool);
    const vol = pool?.lookupVolume(s.volume);
    try {
      if (!vol) throw new LibvirtSetupError(`disk ${disk.dev}: volume "${s.volume}" not found in pool "${s.pool}"`);
      return vol.path();
    } finally {
      vol?.free();
      pool?.free();
    }
  }
  return undefined;
}

const FORMATS: readonly string[] = ['raw', 'qcow2', 'vmdk', 'vpc', 'vhdx', 'vdi'];

/**
 * Exports a domain. A stopped domain's disks are read where they live; a running domain is
 * copied first through a push-mode backup job (the guest keeps running). The output appears
 * only when complete (OUT.ova.part is renamed); on failure or SIGINT/SIGTERM it is removed.
 * @throws the VirtOvfError subclass matching the failure (see errors.ts and EXIT STATUS).
 */
export async function runExport(opts: ExportOptions, reporter: Reporter): Promise<ExportResult> {
  if ((opts.signKey === undefined) !== (opts.signCert === undefined)) throw new UsageError('--sign KEY.pem and --cert CERT.pem go together');
  if (opts.signKey && opts.manifest === 'none') throw new UsageError('--sign needs a manifest; drop --manifest none');
  const conn = Connection.open(opts.connect);
  let domain: Domain | null = null;
  try {
    domain = lookupDomainByName(conn, opts.domain);
    if (!domain) throw new LibvirtSetupError(`no domain named "${opts.domain}" on ${conn.uri()}`);
    const mappings = loadMappings(opts.mappingsDir);
    const desc = parseDomainXml(await domain.xml(VIR_DOMAIN_XML_INACTIVE), mappings.domain);
    const live = domain.isActive();
    const name = safeName(desc.name);
    reporter.emit({ kind: 'stage', message: `Exporting ${live ? 'running' : 'stopped'} domain ${desc.name}: ${desc.vcpus} vCPU, ${desc.memoryBytes / 2 ** 20} MiB, ${desc.disks.length} drive(s), ${desc.interfaces.length} NIC(s)` });
    return await withSignals(async (signal) => {
      const workDir = await mkdtemp(join(dirname(opts.output.replace(/\/+$/, '')) || '.', `.virt-ovf-export-`));
      let backupDir: string | undefined;
      try {
        const sources = new Map<DomainDisk, { path: string; format: ImageFormat }>();
        for (const disk of desc.disks) {
          const path = diskPath(conn, disk);
          if (path === undefined || disk.device === 'floppy' || disk.device === 'lun') continue;
          const format = (disk.device === 'cdrom' ? 'raw' : (disk.driverType ?? 'raw')) as ImageFormat;
          if (!FORMATS.includes(format)) throw new LibvirtSetupError(`disk ${disk.dev}: driver type "${format}" cannot be read by qemu-img`);
          sources.set(disk, { path, format });
        }
        if (live) {
          backupDir = await backupDirectory();
          const copies = await backupDisks(domain!, [...sources.keys()].filter((d) => d.device === 'disk'), backupDir, reporter, signal);
          for (const [disk, copy] of copies) sources.set(disk, { path: copy, format: 'qcow2' });
        }
        const planned = new Map<DomainDisk, DiskFile>();
        let n = 0;
        for (const [disk, src] of sources) {
          n++;
          const size = (await stat(src.path)).size;
          const info = disk.device === 'disk' ? await imageInfo({ path: src.path, offset: 0, size, format: src.format, wholeFile: true, label: `"${src.path}"` }, { signal }) : undefined;
          const format = disk.device === 'cdrom' ? 'raw' : opts.diskFormat;
          const ext = disk.device === 'cdrom' ? 'iso' : format === 'raw' ? 'img' : format;
          planned.set(disk, { href: `${name}-${disk.device === 'cdrom' ? 'cdrom' : 'disk'}${n}.${ext}`, format, capacityBytes: info?.virtualSizeBytes ?? size });
        }
        const reverse = mapDomainToOvf(desc, mappings, { ovfVersion: opts.ovfVersion, profile: opts.profile, ...(opts.lax ? { lax: true } : {}), diskFileFor: (disk) => planned.get(disk) });
        for (const w of reverse.warnings) reporter.emit({ kind: 'warning', message: w });
        const disks: PackageDisk[] = reverse.files.map((f) => ({ href: f.file.href, source: sources.get(f.disk)!, format: planned.get(f.disk)!.format, device: f.disk.device === 'cdrom' ? 'cdrom' : 'disk', bus: f.disk.bus }));
        const written = await writePackage({ opts, name, envelope: reverse.envelope, ovfRules: mappings.domain.ovf, disks, workDir, reporter, signal });
        reporter.emit({ kind: 'stage', message: `Finished: ${written.output}` });
        return { output: written.output, kind: written.kind, live, files: written.files, warnings: reporter.warnings };
      } finally {
        await rm(workDir, { recursive: true, force: true });
        if (backupDir) await rm(backupDir, { recursive: true, force: true });
      }
    });
  } finally {
    domain?.free();
    conn.close();
  }
}
