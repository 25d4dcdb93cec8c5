// One record per drive of the domain, built once: where it sits, what fills it, where its bytes are.
import { storedFile, type StoredFile } from '../archive/chunks.js';
import type { Archive } from '../archive/model.js';
import { PackageError } from '../errors.js';
import { safeName } from '../naming.js';
import type { Envelope, OvfDisk, OvfFile } from '../ovf/model.js';
import type { ImageFormat } from '../storage/qemu-img.js';
import { fileOfDisk, type GeneratedContent, type PlannedDisk } from './apply.js';
import type { Mappings } from './load.js';

/** A parent of a delta disk (ovf:parentRef), with its file and format. */
export interface ParentImage {
  readonly diskId: string;
  readonly file: OvfFile;
  readonly format: ImageFormat;
}

/** What every drive record holds. Sizes in bytes. */
interface DriveBase {
  /** Where the drive sits in the domain: device, bus, target dev, drive address, boot order. */
  readonly placed: PlannedDisk;
  /**
   * Volume (or file) name without extension, unique among the domain's drives (compared
   * case-insensitively): DOMAIN-DISKID for a package drive, DOMAIN-CONTENT (DOMAIN-ovf-env) for
   * a generated one; a package drive whose name is taken gets -2, -3, … (see volumeBases).
   */
  readonly volumeBase: string;
  /** ovf:capacity; 0 when the Disk has none (the image's header gives the virtual size when it is converted). */
  readonly capacityBytes: number;
  /** Bytes the volume will hold (expectedDataBytes: ovf:populatedSize as a hint bounded by what the file can hold); 0 when nothing is copied. */
  readonly dataBytes: number;
}

/** A drive filled from a References/File of the package. */
export interface FileDrive extends DriveBase {
  readonly kind: 'file';
  readonly ovfDisk?: OvfDisk;
  readonly file: OvfFile;
  /** qemu-img format of the file (ovf:format via formats.json); undefined only in a descriptor-only plan. */
  readonly format?: ImageFormat;
  /** The package files holding its bytes (chunks of an ovf:chunkSize file). */
  readonly stored: StoredFile;
  /** For a delta disk: its parents, nearest first; empty otherwise. */
  readonly parents: readonly ParentImage[];
}

/** An empty disk (DiskSection capacity, no file) or an empty CD-ROM drive. */
export interface EmptyDrive extends DriveBase {
  readonly kind: 'empty';
  readonly ovfDisk?: OvfDisk;
}

/** A CD-ROM whose ISO import writes: the OVF environment (DSP0243 11.2, iso transport). */
export interface GeneratedDrive extends DriveBase {
  readonly kind: 'generated';
  readonly content: GeneratedContent;
  /** ISO 9660 volume label and the files at its root. */
  readonly volumeLabel: string;
  readonly files: readonly { readonly name: string; readonly content: string }[];
}

/** One drive of the domain and everything import needs to fill it. */
export type DriveRecord = FileDrive | EmptyDrive | GeneratedDrive;

/** Inputs of describeDrives. */
export interface DriveContext {
  readonly envelope: Envelope;
  readonly archive: Archive;
  readonly mappings: Mappings;
  /** The domain name (volume names start with it). */
  readonly domainName: string;
  /** The files of each generated content kind, e.g. ovf-env.xml for 'ovf-env'. */
  readonly generated: Partial<Record<GeneratedContent, readonly { name: string; content: string }[]>>;
  /** Problems only a real import hits become warnings (inspect, print-xml) instead of errors. */
  readonly descriptorOnly: boolean;
  readonly warnings: string[];
}

/** qemu-img format from ovf:format (formats.json); media without one by device or href (system.json). */
function formatOf(uri: string | undefined, href: string, device: 'disk' | 'cdrom', mappings: Mappings): ImageFormat | undefined {
  if (uri !== undefined) return mappings.formats.find((r) => new RegExp(r.pattern, 'i').test(uri))?.format;
  const rules = mappings.system.undeclaredFormat;
  return rules.byDevice[device] ?? rules.byHref.find((r) => new RegExp(r.pattern, 'i').test(href))?.format;
}

/**
 * The volume name (without extension) of every placed drive, in order. Generated drives claim
 * theirs first, so no descriptor value can take it; then each package drive, in order, takes
 * DOMAIN-ID (ID: its Disk ovf:diskId, else its File ovf:id, else item+InstanceID, made safe),
 * or, when that is taken (ids that differ in case or only in characters safeName replaces),
 * DOMAIN-ID-2, -3, … with a warning.
 */
export function volumeBases(placed: readonly PlannedDisk[], domainName: string, warnings: string[]): string[] {
  const taken = new Set<string>();
  const claim = (name: string) => taken.add(name.toLowerCase());
  for (const p of placed) if (p.generated !== undefined) claim(`${domainName}-${p.generated}`);
  return placed.map((p) => {
    if (p.generated !== undefined) return `${domainName}-${p.generated}`;
    const id = p.ovfDisk?.diskId ?? p.file?.id ?? p.instanceId ?? '';
    const wanted = `${domainName}-${safeName(id, `item${p.instanceId}`)}`;
    let name = wanted;
    for (let n = 2; taken.has(name.toLowerCase()); n++) name = `${wanted}-${n}`;
    if (name !== wanted) warnings.push(`Item InstanceID ${p.instanceId}: volume name "${wanted}" is taken by another drive of this domain; using "${name}"`);
    claim(name);
    return name;
  });
}

/**
 * Builds the record of every placed drive, in order.
 * @throws PackageError (unless descriptorOnly, which warns instead) for a file of unknown format,
 *   a parent chain that cannot be followed (a parent without a VMDK file, a loop, over 16 deep),
 *   or a delta disk that is not a plain VMDK file.
 */
export function describeDrives(placed: readonly PlannedDisk[], ctx: DriveContext): DriveRecord[] {
  const { envelope, mappings } = ctx;
  // Problems only a real import hits are errors there and warnings in descriptor-only mode.
  const refuse = (why: string, option?: string): void => {
    if (!ctx.descriptorOnly) throw new PackageError(`${envelope.file}: ${why}`, { file: envelope.file, ...(option ? { option } : {}) });
    ctx.warnings.push(`${why}; a real import refuses this`);
  };
  const bases = volumeBases(placed, ctx.domainName, ctx.warnings);
  return placed.map((p, i): DriveRecord => {
    const volumeBase = bases[i]!;
    if (p.generated !== undefined) {
      const files = ctx.generated[p.generated] ?? [];
      return { kind: 'generated', placed: p, content: p.generated, volumeLabel: mappings.system.ovfEnvironment.volumeLabel, files, volumeBase, capacityBytes: 0, dataBytes: 0 };
    }
    const parents = parentChain(p, ctx, refuse);
    const file = p.file;
    if (!file) {
      const capacityBytes = p.ovfDisk?.capacityBytes ?? 0;
      return { kind: 'empty', placed: p, volumeBase, capacityBytes, dataBytes: 0, ...(p.ovfDisk ? { ovfDisk: p.ovfDisk } : {}) };
    }
    const format = formatOf(p.ovfDisk?.format, file.href, p.device, mappings);
    if (format === undefined) {
      refuse(`File "${file.href}" has ${p.ovfDisk?.format ? `an unknown ovf:format "${p.ovfDisk.format}"` : 'no ovf:format'}; add a row to formats.json in a mappings overlay`, 'mappingsDir');
    }
    const stored = storedFile(ctx.archive, file);
    // No ovf:capacity (Ganeti): the image's header gives the virtual size at conversion, never the file's size.
    const capacityBytes = p.ovfDisk?.capacityBytes ?? 0;
    if (parents.length > 0 && (format !== 'vmdk' || file.compression !== undefined || stored.chunked)) {
      refuse(`Disk "${p.ovfDisk!.diskId}" is a delta disk that is not a plain VMDK file; delta chains are supported for VMDK only`);
    }
    const fileBytes = (stored.chunked ? undefined : stored.parts[0]?.size) ?? file.sizeBytes ?? 0;
    const dataBytes = expectedDataBytes({ populated: p.ovfDisk?.populatedSizeBytes, capacityBytes, fileBytes, format, gzip: file.compression !== undefined });
    return { kind: 'file', placed: p, volumeBase, capacityBytes, dataBytes, file, stored, parents, ...(format ? { format } : {}), ...(p.ovfDisk ? { ovfDisk: p.ovfDisk } : {}) };
  });
}

/**
 * The most data one stored byte of an image can expand to when qemu-img converts it: 1032 for
 * formats whose clusters or grains may be deflate-compressed (VMDK streamOptimized, qcow2; deflate
 * tops out at about 1032:1, RFC 1951), 1 for formats that store data as is.
 */
const MAX_EXPANSION: Readonly<Record<ImageFormat, number>> = { vmdk: 1032, qcow2: 1032, raw: 1, vpc: 1, vhdx: 1, vdi: 1 };

/**
 * Bytes a file drive's volume will hold. ovf:populatedSize is a hint (DSP0243 calls it an
 * estimate, and test packages carry the original disk's figure beside a stub file): it counts only
 * up to what the stored bytes can expand to (MAX_EXPANSION, and the capacity). Without it: the
 * stored size, at most the capacity; for a gzip file, whose stored size says little, the capacity.
 * A hint that is too low is caught by the filesystem (exit 5, rolled back).
 */
export function expectedDataBytes(d: { populated: number | undefined; capacityBytes: number; fileBytes: number; format: ImageFormat | undefined; gzip: boolean }): number {
  const cap = (n: number): number => (d.capacityBytes > 0 ? Math.min(d.capacityBytes, n) : n);
  if (d.gzip) return d.populated || (d.capacityBytes > 0 ? d.capacityBytes : d.fileBytes);
  // 0 is what producers write when they did not measure (Canonical's cloud images, vCenter): no hint.
  if (d.populated === undefined || d.populated === 0) return cap(d.fileBytes);
  if (d.fileBytes === 0) return d.populated; // the file is not in hand (inspect, print-xml)
  return Math.min(d.populated, cap(d.fileBytes * (d.format ? MAX_EXPANSION[d.format] : 1)));
}

/** Follows ovf:parentRef from the drive's Disk: parents nearest first, each a VMDK file, at most 16, no loop. */
function parentChain(p: PlannedDisk, ctx: DriveContext, refuse: (why: string) => void): ParentImage[] {
  const parents: ParentImage[] = [];
  for (let ref = p.ovfDisk?.parentRef; ref !== undefined; ) {
    const parentDisk = ctx.envelope.disks.find((d) => d.diskId === ref);
    const parentFile = parentDisk ? fileOfDisk(ctx.envelope, parentDisk) : undefined;
    const parentFormat = parentDisk && parentFile ? formatOf(parentDisk.format, parentFile.href, 'disk', ctx.mappings) : undefined;
    if (!parentDisk || !parentFile || parentFormat !== 'vmdk' || parents.some((x) => x.diskId === ref) || parents.length >= 16) {
      refuse(`Disk "${p.ovfDisk!.diskId}" has a parent chain virt-ovf cannot follow at "${ref}" (a parent needs a VMDK file, and the chain no loop)`);
      break;
    }
    if (parentFile.compression !== undefined || parentFile.chunkSizeBytes !== undefined) refuse(`Disk "${ref}" is the parent of a delta disk and is compressed or chunked, which delta chains do not support`);
    parents.push({ diskId: parentDisk.diskId, file: parentFile, format: parentFormat });
    ref = parentDisk.parentRef;
  }
  return parents;
}
