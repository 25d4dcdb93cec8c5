// Export never destroys: what already exists where a package file goes is refused unless forced,
// and even then a file a domain or pool holds (protected.ts) is never replaced. Finished files
// are moved in without replacing anything that appeared meanwhile (link(2), then unlink(2)).
import { link, lstat, rename, stat, unlink } from 'node:fs/promises';
import { PackageError, UsageError, VirtOvfError } from '../errors.js';
import type { Connection } from '../libvirt/index.js';
import { heldFiles, holderOf } from './protected.js';

/** A finished file written under a temporary name (`part`) and the name it is given at the end (`final`). */
export interface Placement {
  readonly part: string;
  readonly final: string;
}

/** errno codes of a link(2) the filesystem does not support (vfat, some FUSE and network filesystems). */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK']);

/**
 * Decides, for one export, whether a package file may take the place of an existing one:
 * never without `force` (ovftool's --overwrite); with it, only a regular file that no domain
 * or pool of the connection holds (protected.ts heldFiles, read anew at each check).
 */
export class OutputGuard {
  /** @param conn where held files are listed; null for a guard that is never forced. */
  constructor(
    private readonly conn: Connection | null,
    private readonly force: boolean,
  ) {
    if (force && conn === null) throw new VirtOvfError('a forced output guard needs the connection whose held files it protects');
  }

  /**
   * Refuses `paths` that exist (lstat(2): a dangling symbolic link exists too) unless forced;
   * when forced, refuses those that are not regular files or that a domain or pool holds.
   * Paths that do not exist pass.
   * @throws UsageError naming the first path refused (option `force`, or `output` for a held file).
   */
  async check(paths: readonly string[]): Promise<void> {
    const existing: string[] = [];
    for (const path of paths) {
      const st = await lstat(path).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw new UsageError(`${path}: cannot check the output: ${err.message}`, { option: 'output', cause: err });
      });
      if (!st) continue;
      if (!this.force) throw new UsageError(`${path} already exists; export replaces an existing file only when forced`, { option: 'force' });
      if (!st.isFile()) throw new UsageError(`${path} exists and is not a regular file; export never replaces it, even when forced`, { option: 'output' });
      existing.push(path);
    }
    if (existing.length === 0) return;
    const held = await heldFiles(this.conn!);
    for (const path of existing) {
      const owner = await holderOf(path, held);
      if (owner !== undefined) throw new UsageError(`${path} is ${owner}; export never replaces it, even when forced`, { option: 'output' });
    }
  }

  /**
   * Gives each finished file its final name, all or nothing as far as the filesystem allows:
   * first each `part` is hard-linked to its `final` name (link(2) fails with EEXIST rather than
   * replace a file that appeared meanwhile); if any final name is taken, the links made are
   * undone and, unless forced, the export fails; when forced, the taken names are checked again
   * ({@link check}) and only then replaced (rename(2)). The `part` files are removed on success.
   * On a filesystem without hard links, a name that does not exist is taken with rename(2).
   * @throws UsageError naming a path that appeared meanwhile or is refused; PackageError on an OS error.
   */
  async place(files: readonly Placement[]): Promise<void> {
    const placed: { file: Placement; how: 'linked' | 'moved' }[] = [];
    const taken: Placement[] = [];
    try {
      for (const f of files) {
        const how = await linkNoReplace(f);
        if (how === 'taken') taken.push(f);
        else placed.push({ file: f, how });
      }
      if (taken.length > 0 && !this.force) throw new UsageError(`${taken[0]!.final} appeared while exporting and was left as it is; export replaces an existing file only when forced`, { option: 'force' });
      await this.check(taken.map((f) => f.final));
    } catch (err) {
      for (const { file, how } of placed) {
        if (how === 'linked') await unlinkIfSame(file.final, file.part);
        else await rename(file.final, file.part).catch(() => undefined);
      }
      throw err;
    }
    for (const f of taken) {
      await rename(f.part, f.final).catch((cause: Error) => {
        throw new PackageError(`${f.final}: cannot replace it with the finished file: ${cause.message}`, { file: f.final, cause });
      });
    }
    for (const { file, how } of placed) if (how === 'linked') await unlink(file.part).catch(() => undefined);
  }
}

/**
 * link(2) `part` to `final` ('linked'); 'taken' when `final` exists. Where the filesystem has
 * no hard links, a `final` that does not exist is taken with rename(2) ('moved').
 */
async function linkNoReplace(f: Placement): Promise<'linked' | 'moved' | 'taken'> {
  try {
    await link(f.part, f.final);
    return 'linked';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') return 'taken';
    if (!NO_HARD_LINKS.has(code)) throw new PackageError(`${f.final}: cannot create: ${(err as Error).message}`, { file: f.final, cause: err });
    if (await lstat(f.final).then(() => true, () => false)) return 'taken';
    await rename(f.part, f.final);
    return 'moved';
  }
}

/** Removes `final` only if it is still the same file as `part` (the link this export made). */
async function unlinkIfSame(final: string, part: string): Promise<void> {
  const [a, b] = await Promise.all([stat(final).catch(() => undefined), stat(part).catch(() => undefined)]);
  if (a && b && a.dev === b.dev && a.ino === b.ino) await unlink(final).catch(() => undefined);
}
