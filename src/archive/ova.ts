// An OVA package: a tar file whose members are read in place, by offset, never extracted.

import { PackageError } from '../errors.js';
import { fileReader, type ByteReader } from '../source/reader.js';
import type { Archive, ArchiveEntry, ByteRange } from './model.js';
import { checkHref, RangeReader, type Span } from './access.js';
import { canonicalName, checkMembers, describeMissing } from './policy.js';
import { indexTar, type TarMember } from './tar.js';
import { BLOCK_SIZE } from './tar-format.js';

/** Location of a file member's data in the OVA, in bytes. */
interface Stored {
  name: string;
  offset: number;
  size: number;
}

/** Archive over an OVA: member lookups go through a header index built once; bytes through the reader. */
class OvaArchive extends RangeReader implements Archive {
  readonly kind = 'ova' as const;
  readonly directory = undefined;
  readonly local: boolean;
  constructor(
    readonly source: string,
    readonly descriptorName: string,
    private readonly files: Map<string, Stored>,
    private readonly reader: ByteReader & { readonly bytesTransferred?: number },
  ) {
    super();
    this.local = reader.localPath !== undefined;
  }

  get bytesTransferred(): number {
    return this.reader.bytesTransferred ?? 0;
  }

  span(href: string): Span {
    const stored = this.files.get(checkHref(href, this.source));
    if (!stored) throw new PackageError(describeMissing(this, href), { file: href });
    return { reader: this.reader, offset: stored.offset, size: stored.size };
  }

  readDescriptor(): Promise<Buffer> {
    return this.readSmall(this.descriptorName);
  }

  entries(): ArchiveEntry[] {
    return [...this.files.values()].map(({ name, size }) => ({ name, size }));
  }

  find(href: string): ArchiveEntry | undefined {
    const stored = this.files.get(checkHref(href, this.source));
    return stored && { name: stored.name, size: stored.size };
  }

  locate(href: string): ByteRange {
    const { reader, offset, size } = this.span(href);
    if (reader.localPath === undefined) throw notLocal(this.source, href);
    return { path: reader.localPath, offset, size };
  }

  async locatePadded(href: string): Promise<ByteRange> {
    const range = this.locate(href);
    const rounded = Math.ceil(range.size / BLOCK_SIZE) * BLOCK_SIZE;
    if (rounded === range.size) return range;
    const pad = await this.reader.read(range.offset + range.size, rounded - range.size);
    if (pad.length !== rounded - range.size || pad.some((b) => b !== 0)) {
      throw new PackageError(`File "${href}": the tar padding after it is ${pad.length !== rounded - range.size ? 'missing (truncated archive)' : 'not zeros'}`, { file: href });
    }
    return { ...range, size: rounded };
  }
}

/** The error of locate on a package that is not on this host (a URL): its files are streamed, never located. */
export function notLocal(source: string, href: string): PackageError {
  return new PackageError(`${source}: "${href}" is not a file on this host (the package is read from a URL); it can only be streamed`, { file: href });
}

/** File members by canonical name (checkMembers has already refused links and duplicates). */
function fileTable(members: TarMember[]): Map<string, Stored> {
  const files = new Map<string, Stored>();
  for (const m of members) {
    const name = canonicalName(m.rawName);
    if (m.type === 'file') files.set(name, { name, offset: m.offset, size: m.size });
  }
  return files;
}

/**
 * Opens an OVA (DSP0243 section 5.3: a tar archive whose first member is the .ovf descriptor).
 * The descriptor is the top-level `*.ovf` member; it is accepted at any position.
 * Every member passes the package policy first (policy.ts, checkMembers): the whole package
 * is refused when any member is hostile, even one the descriptor never references. Member
 * names are matched exactly and case-sensitively, in canonical form (`./a` is `a`).
 * @param path host path of the tar file, or a reader over it (a URL) and the source to name.
 * @returns an Archive of kind 'ova' (`local` when read from a host file).
 * @throws PackageError when indexTar fails (file = `path`); when a member is refused by
 *   checkMembers (file = the member: `..`, absolute or URL names, control characters, links,
 *   sparse or special members, duplicates, hostile GNU/pax renames); when there is no
 *   top-level .ovf member (nested ones are named) or there are several (file = `path`).
 */
export async function openOva(path: string, over?: ByteReader & { readonly bytesTransferred?: number }): Promise<Archive> {
  const { members } = await indexTar(over ?? path);
  const reader = over ?? (await fileReader(path).catch((cause: unknown) => {
    throw new PackageError(`${path}: cannot open: ${(cause as Error).message}`, { file: path, cause });
  }));
  checkMembers(members, path);
  const files = fileTable(members);
  const ovfs = [...files.keys()].filter((n) => /\.ovf$/i.test(n));
  const topLevel = ovfs.filter((n) => !n.includes('/'));
  const fail = (why: string): PackageError => new PackageError(`${path}: ${why}`, { file: path });
  if (topLevel.length > 1) throw fail(`the OVA holds ${topLevel.length} .ovf descriptors (${topLevel.join(', ')}); DSP0243 allows one`);
  const descriptor = topLevel[0];
  if (descriptor === undefined) {
    if (ovfs.length > 0) throw fail(`no .ovf descriptor at the top level of the OVA (found only ${ovfs.join(', ')})`);
    throw fail('the OVA holds no .ovf descriptor');
  }
  return new OvaArchive(path, descriptor, files, reader);
}
