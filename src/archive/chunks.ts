// Which package files hold one References/File: the file itself, or its ovf:chunkSize parts (DSP0243 10.3).
import type { Archive, ArchiveEntry } from './model.js';

/** Name of part `index` (0-based) of a file split with ovf:chunkSize: `href.000000000`, `href.000000001`, ... (DSP0243 10.3). */
export function chunkName(href: string, index: number): string {
  return `${href}.${String(index).padStart(9, '0')}`;
}

/** The package files that hold the bytes of one References/File. Sizes in bytes. */
export interface StoredFile {
  /** The References/File ovf:href. */
  readonly href: string;
  /** True when the descriptor splits the file with ovf:chunkSize. */
  readonly chunked: boolean;
  /**
   * The package files holding the bytes, in order, named as the descriptor spells them: `[href]`,
   * or the chunks from `href.000000000` up to the first one missing. Empty when the package lacks
   * the file (or its first chunk).
   */
  readonly parts: readonly ArchiveEntry[];
  /** Sum of the parts' sizes (the bytes stored, compressed or not). */
  readonly storedBytes: number;
}

/**
 * Finds the package files of a References/File (`chunkSizeBytes` set: its chunks).
 * @throws PackageError when the archive refuses the href (policy.ts).
 */
export function storedFile(archive: Archive, file: { readonly href: string; readonly chunkSizeBytes?: number }): StoredFile {
  const chunked = file.chunkSizeBytes !== undefined;
  const parts: ArchiveEntry[] = [];
  for (let i = 0; chunked || i === 0; i++) {
    const name = chunked ? chunkName(file.href, i) : file.href;
    const entry = archive.find(name);
    if (!entry) break;
    parts.push({ name, size: entry.size });
  }
  return { href: file.href, chunked, parts, storedBytes: parts.reduce((sum, p) => sum + p.size, 0) };
}
