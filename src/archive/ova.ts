// An OVA package: a tar file whose members are read in place, by offset, never extracted.

import type { Readable } from 'node:stream';
import { PackageError } from '../errors.js';
import type { Archive, ArchiveEntry, ByteRange } from './archive.js';
import { checkHref, DEFAULT_SMALL_MAX, readRange, streamRange } from './access.js';
import { indexTar, type TarMember } from './tar.js';

/** Location of a file member's data in the OVA, in bytes. */
interface Stored {
  name: string;
  offset: number;
  size: number;
}

/** Archive over an OVA: member lookups go through a header index built once. */
class OvaArchive implements Archive {
  readonly kind = 'ova' as const;
  readonly directory = undefined;
  constructor(
    readonly source: string,
    readonly descriptorName: string,
    private readonly files: Map<string, Stored>,
  ) {}

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
    const stored = this.files.get(checkHref(href, this.source));
    if (!stored) throw new PackageError(`${this.source}: the OVA has no member "${href}"`, { file: href });
    return { path: this.source, offset: stored.offset, size: stored.size };
  }

  createReadStream(href: string): Readable {
    const { path, offset, size } = this.locate(href);
    return streamRange(path, offset, size);
  }

  readSmall(href: string, maxBytes: number = DEFAULT_SMALL_MAX): Promise<Buffer> {
    const { path, offset, size } = this.locate(href);
    return readRange(path, offset, size, href, maxBytes);
  }
}

/** File members by name; a later duplicate replaces an earlier one (tar semantics); hardlinks to files are resolved. */
function fileTable(members: TarMember[]): Map<string, Stored> {
  const files = new Map<string, Stored>();
  for (const m of members) {
    if (m.type === 'file') files.set(m.name, { name: m.name, offset: m.offset, size: m.size });
    if (m.type === 'hardlink' && m.linkName !== undefined) {
      const target = files.get(m.linkName.replace(/^(\.\/)+/, ''));
      if (target) files.set(m.name, { name: m.name, offset: target.offset, size: target.size });
    }
  }
  return files;
}

/**
 * Opens an OVA (DSP0243 section 5.3: a tar archive whose first member is the .ovf descriptor).
 * The descriptor is the top-level `*.ovf` member; it is accepted at any position.
 * @param path host path of the tar file.
 * @returns an Archive of kind 'ova'.
 * @throws PackageError (file = `path`) when indexTar fails, there is no top-level .ovf member
 *   (nested ones are named), or there are several (they are listed).
 */
export async function openOva(path: string): Promise<Archive> {
  const { members } = await indexTar(path);
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
  return new OvaArchive(path, descriptor, files);
}
