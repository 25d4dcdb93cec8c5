// An OVF package kept as a directory: the .ovf descriptor with its referenced files beside it.

import { lstatSync, readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { PackageError } from '../errors.js';
import { localFile } from '../source/reader.js';
import type { Archive, ArchiveEntry, ByteRange } from './model.js';
import { checkHref, RangeReader, type Span } from './access.js';
import { describeMissing, quoteName } from './policy.js';

/** How deep {@link OvfDirArchive.entries} descends into subdirectories. */
const MAX_DEPTH = 8;

/** stat() (or lstat() with `noFollow`) that returns undefined for missing files and throws PackageError for other failures. */
function statOrUndefined(path: string, href: string, noFollow = false): Stats | undefined {
  try {
    return noFollow ? lstatSync(path) : statSync(path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new PackageError(`${href}: cannot stat ${path}: ${(cause as Error).message}`, { file: href, cause });
  }
}

/** Archive over a directory: files are looked up on demand relative to the .ovf's directory. */
class OvfDirArchive extends RangeReader implements Archive {
  readonly kind = 'ovf' as const;
  readonly local = true;
  readonly bytesTransferred = 0;
  readonly descriptorName: string;
  readonly directory: string;
  private listing: ArchiveEntry[] | undefined;

  /** @param realDirectory the directory after realpath: every file must lie beneath it, reached without symlinks. */
  constructor(
    readonly source: string,
    private readonly realDirectory: string,
  ) {
    super();
    this.descriptorName = basename(source);
    this.directory = dirname(resolve(source));
  }

  readDescriptor(): Promise<Buffer> {
    return this.readSmall(this.descriptorName);
  }

  /** Regular files under the directory, up to 8 levels deep; symbolic links are neither followed nor listed. */
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
      } else if (d.isFile()) {
        const info = statOrUndefined(join(this.directory, name), name, true);
        if (info?.isFile()) out.push({ name, size: info.size });
      }
    }
  }

  /**
   * Looks `href` up beneath the real directory, step by step with lstat, so that no step may be
   * a symbolic link; the result's realpath must then be exactly that path.
   * @throws PackageError (file = `href`) for a refused href (see checkHref), a step that is a
   *   symbolic link, a special file (FIFO, device, socket), or a path that resolves elsewhere.
   */
  find(href: string): ArchiveEntry | undefined {
    const name = checkHref(href, this.source);
    const refuse = (why: string): PackageError => new PackageError(`${this.source}: file reference ${quoteName(href)} ${why}`, { file: href });
    const steps = name.split('/');
    let path = this.realDirectory;
    let info: Stats | undefined;
    for (const [i, step] of steps.entries()) {
      path = join(path, step);
      info = statOrUndefined(path, href, true);
      if (info === undefined) return undefined;
      if (info.isSymbolicLink()) throw refuse(`resolves through the symbolic link ${quoteName(steps.slice(0, i + 1).join('/'))}; links are refused in a package directory`);
      if (i < steps.length - 1 && !info.isDirectory()) return undefined;
    }
    if (info === undefined || info.isDirectory()) return undefined;
    if (!info.isFile()) throw refuse('is not a regular file (a FIFO, device or socket)');
    let real: string;
    try {
      real = realpathSync(path);
    } catch (cause) {
      throw new PackageError(`${href}: cannot resolve ${path}: ${(cause as Error).message}`, { file: href, cause });
    }
    if (real !== path) throw refuse(`resolves to ${real}, outside ${this.realDirectory}`);
    return { name, size: info.size };
  }

  locate(href: string): ByteRange {
    const entry = this.find(href);
    if (!entry) throw new PackageError(describeMissing(this, href), { file: href });
    return { path: join(this.realDirectory, entry.name), offset: 0, size: entry.size };
  }

  span(href: string): Span {
    const { path, offset, size } = this.locate(href);
    return { reader: localFile(path, size), offset, size };
  }

  /** A file beside the .ovf has no padding: its range as locate gives it. */
  async locatePadded(href: string): Promise<ByteRange> {
    return this.locate(href);
  }
}

/**
 * Opens an OVF package stored as files (DSP0243 section 5.1): the descriptor at `ovfPath`,
 * every ovf:href resolved relative to its directory (subdirectories allowed; URLs, absolute
 * paths, `..` steps and symbolic links refused, see find). The directory itself may be reached
 * through a symlink: files are looked up beneath its realpath. Nothing is read until asked for.
 * @param ovfPath host path of the .ovf file.
 * @returns an Archive of kind 'ovf'.
 * @throws PackageError (file = `ovfPath`) when the path is a symbolic link (the real file is
 *   named) or not a regular file.
 */
export async function openOvfDir(ovfPath: string): Promise<Archive> {
  const link = statOrUndefined(ovfPath, ovfPath, true);
  if (link?.isSymbolicLink()) {
    let target = '(dangling)';
    try {
      target = realpathSync(ovfPath);
    } catch {
      // keep "(dangling)"
    }
    throw new PackageError(`${ovfPath}: the descriptor is a symbolic link (to ${target}); open the real file, whose directory holds the package`, { file: ovfPath });
  }
  const info = statOrUndefined(ovfPath, ovfPath);
  if (!info?.isFile()) throw new PackageError(`${ovfPath}: not a regular file`, { file: ovfPath });
  let real: string;
  try {
    real = realpathSync(dirname(resolve(ovfPath)));
  } catch (cause) {
    throw new PackageError(`${ovfPath}: cannot resolve its directory: ${(cause as Error).message}`, { file: ovfPath, cause });
  }
  return new OvfDirArchive(ovfPath, real);
}
