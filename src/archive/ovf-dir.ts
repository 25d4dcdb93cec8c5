// An OVF package kept as a directory: the .ovf descriptor with its referenced files beside it.

import { readdirSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { PackageError } from '../errors.js';
import type { Archive, ArchiveEntry, ByteRange } from './archive.js';
import { checkHref, DEFAULT_SMALL_MAX, readRange, streamRange } from './access.js';

/** How deep {@link OvfDirArchive.entries} descends into subdirectories. */
const MAX_DEPTH = 8;

/** stat() that returns undefined for missing files and throws PackageError for other failures. */
function statOrUndefined(path: string, href: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new PackageError(`${href}: cannot stat ${path}: ${(cause as Error).message}`, { file: href, cause });
  }
}

/** Archive over a directory: files are looked up on demand relative to the .ovf's directory. */
class OvfDirArchive implements Archive {
  readonly kind = 'ovf' as const;
  readonly descriptorName: string;
  readonly directory: string;
  private listing: ArchiveEntry[] | undefined;

  constructor(readonly source: string) {
    this.descriptorName = basename(source);
    this.directory = dirname(resolve(source));
  }

  readDescriptor(): Promise<Buffer> {
    return this.readSmall(this.descriptorName);
  }

  /** Regular files (and symlinks to them) under the directory, up to 8 levels deep; directory symlinks are not followed. */
  entries(): ArchiveEntry[] {
    if (!this.listing) {
      this.listing = [];
      this.walk('', 0, this.listing);
    }
    return this.listing.map((e) => ({ ...e }));
  }

  private walk(rel: string, depth: number, out: ArchiveEntry[]): void {
    let dirents;
    try {
      dirents = readdirSync(join(this.directory, rel), { withFileTypes: true });
    } catch (cause) {
      throw new PackageError(`${this.source}: cannot list ${join(this.directory, rel)}: ${(cause as Error).message}`, { file: this.source, cause });
    }
    for (const d of dirents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const name = rel === '' ? d.name : `${rel}/${d.name}`;
      if (d.isDirectory()) {
        if (depth < MAX_DEPTH) this.walk(name, depth + 1, out);
      } else if (d.isFile() || d.isSymbolicLink()) {
        const info = statOrUndefined(join(this.directory, name), name);
        if (info?.isFile()) out.push({ name, size: info.size });
      }
    }
  }

  find(href: string): ArchiveEntry | undefined {
    const name = checkHref(href, this.source);
    const info = statOrUndefined(join(this.directory, name), href);
    return info?.isFile() ? { name, size: info.size } : undefined;
  }

  locate(href: string): ByteRange {
    const entry = this.find(href);
    if (!entry) {
      throw new PackageError(`${this.source}: "${href}" is not a file in ${this.directory}`, { file: href });
    }
    return { path: join(this.directory, entry.name), offset: 0, size: entry.size };
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

/**
 * Opens an OVF package stored as files (DSP0243 section 5.1): the descriptor at `ovfPath`,
 * every ovf:href resolved relative to its directory (subdirectories allowed; URLs and
 * absolute paths refused). Nothing is read until asked for.
 * @param ovfPath host path of the .ovf file.
 * @returns an Archive of kind 'ovf'.
 * @throws PackageError (file = `ovfPath`) when the path is not a regular file.
 */
export async function openOvfDir(ovfPath: string): Promise<Archive> {
  const info = statOrUndefined(ovfPath, ovfPath);
  if (!info?.isFile()) throw new PackageError(`${ovfPath}: not a regular file`, { file: ovfPath });
  return new OvfDirArchive(ovfPath);
}
