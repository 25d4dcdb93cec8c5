// Path policy for package files: which OVA member names and ovf:href values are accepted.
//
// An OVF package (DSP0243 section 5) references its files by relative URI. virt-ovf reads
// nothing outside the package, so every name that could leave it, alias another member, or be
// read differently by another tar reader is refused before anything is read.

import { PackageError } from '../errors.js';
import type { Archive } from './model.js';
import { chunkName } from './chunks.js';
import type { TarMember } from './tar.js';

/** Longest accepted member name or href, in characters (Linux PATH_MAX). */
export const MAX_NAME_LENGTH = 4096;

/** A URI scheme at the start of a reference (RFC 3986 section 3.1), e.g. `http:` or `file:`. */
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/** C0 controls (NUL included), DEL and C1 controls. */
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/;

/** Percent-escapes of NUL, `/` and `\`: hrefs are never percent-decoded, so these only serve evasion. */
const ENCODED_SEPARATOR = /%(?:00|2f|5c)/i;

/**
 * Says why a member name or href is unacceptable, or returns undefined when it is fine.
 * Refused: empty; longer than {@link MAX_NAME_LENGTH}; any control character (NUL, C0, DEL,
 * C1); a Windows drive path (`C:\x`, `C:x`); any URI scheme (`http:`, `file:`); an absolute
 * path (leading `/` or `\`); a `..` step anywhere, with `/` or `\` as separator; percent-escaped
 * separators or NUL, and steps that are percent-escaped dots (`%2e%2e`).
 */
export function nameProblem(name: string): string | undefined {
  if (name === '') return 'is empty';
  if (name.length > MAX_NAME_LENGTH) return `is ${name.length} characters long, more than ${MAX_NAME_LENGTH}`;
  const control = CONTROL.exec(name);
  if (control) return `contains the control character U+${control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
  if (/^[A-Za-z]:/.test(name) && (name.length === 2 || name[2] === '\\' || name[2] === '/')) {
    return `is an absolute path (Windows drive ${name.slice(0, 2)}); only paths relative to the package are supported`;
  }
  const scheme = SCHEME.exec(name);
  if (scheme) return `is a URL (scheme "${scheme[0]}"); only files inside the package are supported`;
  if (name.startsWith('/') || name.startsWith('\\')) return 'is an absolute path; only paths relative to the package are supported';
  const steps = name.split(/[\\/]/);
  if (steps.includes('..')) return 'contains a ".." path step, which could reach outside the package';
  if (ENCODED_SEPARATOR.test(name) || steps.some((s) => s.includes('%') && /^(?:\.|%2e){1,2}$/i.test(s))) {
    return 'contains a percent-escaped dot, slash, backslash or NUL (references are never percent-decoded)';
  }
  return undefined;
}

/**
 * The form names are compared in: `/`-separated steps with empty and `.` steps dropped
 * (`./a//b/` is `a/b`); `.` when nothing is left. Matching is exact and case-sensitive.
 */
export function canonicalName(name: string): string {
  const steps = name.split('/').filter((s) => s !== '' && s !== '.');
  return steps.length === 0 ? '.' : steps.join('/');
}

/** A name quoted for messages, with control characters escaped. */
export function quoteName(name: string): string {
  return JSON.stringify(name.length > 300 ? `${name.slice(0, 300)}...` : name);
}

/**
 * Applies {@link nameProblem} to a member name or href.
 * @param name the name as written in the archive, descriptor or manifest.
 * @param source the package (.ova or .ovf path), for the message.
 * @param what how to call the name in the message, e.g. `member`, `file reference`.
 * @returns the name in {@link canonicalName} form.
 * @throws PackageError (file = `name`) `<source>: <what> "<name>" <reason>` when refused.
 */
export function checkName(name: string, source: string, what: string): string {
  const why = nameProblem(name);
  if (why !== undefined) throw new PackageError(`${source}: ${what} ${quoteName(name)} ${why}`, { file: name });
  return canonicalName(name);
}

/**
 * Checks every member of an OVA before any is used (DSP0243 section 5.3 allows only regular
 * files; tar semantics per IEEE 1003.1-2008 pax). The whole package is refused when any member
 * is hostile, even one the descriptor never references.
 * @param members indexTar output, in archive order.
 * @param source the .ova path, for messages.
 * @throws PackageError (file = the member name) when a member's name, or the name its header
 *   block carries under a GNU long-name or pax `path` override, is refused by
 *   {@link nameProblem}; when a member is a symbolic link, a hard link, a pax GNU sparse file
 *   or another special file (device, FIFO, volume label...); when a file member's name is `.`;
 *   or when two members share a canonical name (the later one would silently win in tar).
 */
export function checkMembers(members: readonly TarMember[], source: string): void {
  const check = memberChecker(source);
  for (const m of members) check(m);
}

/**
 * {@link checkMembers} one member at a time, for a tar read as a stream (archive/tar-stream.ts):
 * the returned function refuses a member as checkMembers would, given those seen before it.
 */
export function memberChecker(source: string): (m: TarMember) => void {
  const seen = new Map<string, TarMember>();
  return (m) => {
    const refuse = (why: string): PackageError => new PackageError(`${source}: member ${quoteName(m.rawName)} ${why}`, { file: m.rawName });
    checkName(m.rawName, source, 'member');
    if (m.headerName !== undefined) {
      const why = nameProblem(m.headerName);
      if (why !== undefined && m.headerName !== '') throw refuse(`is renamed from a header name ${quoteName(m.headerName)} that ${why}`);
    }
    if (m.type === 'symlink') throw refuse(`is a symbolic link (to ${quoteName(m.linkName ?? '')}); links are refused in an OVA`);
    if (m.type === 'hardlink') throw refuse(`is a hard link (to ${quoteName(m.linkName ?? '')}); links are refused in an OVA`);
    if (m.sparse === true) throw refuse('is a GNU sparse file; sparse members are refused');
    if (m.type === 'other') throw refuse(`is a special file (tar type flag ${quoteName(m.typeflag)}); only regular files and directories are accepted`);
    const name = canonicalName(m.rawName);
    if (name === '.' && m.type === 'file') throw refuse('does not name a file');
    const first = seen.get(name);
    if (first) {
      throw refuse(`duplicates the member ${quoteName(first.rawName)} (both are "${name}"); a later duplicate silently replaces an earlier one, so the package is refused`);
    }
    seen.set(name, m);
  };
}

/**
 * Message for a file the package lacks: `<source>: no member named "X"` (OVA) or
 * `<source>: no file named "X" in DIR` (directory), followed by
 * `(a member named "Y" differs only in case)` when such a file exists. Names are matched
 * exactly and case-sensitively, so that case-only difference is never resolved silently.
 */
export function describeMissing(archive: Archive, href: string): string {
  const name = canonicalName(href);
  const what = archive.kind === 'ova' ? 'a member' : 'a file';
  const near = archive.entries().find((e) => e.name !== name && e.name.toLowerCase() === name.toLowerCase());
  const hint = near ? ` (${what} named ${quoteName(near.name)} differs only in case)` : '';
  if (archive.kind === 'ova') return `${archive.source}: no member named ${quoteName(href)}${hint}`;
  return `${archive.source}: no file named ${quoteName(href)} in ${archive.directory ?? '.'}${hint}`;
}

/** The parts of a References/File (DSP0243 section 7.1) that locate it. */
export interface ReferencedFile {
  readonly id: string;
  readonly href: string;
  /** ovf:chunkSize: the file is stored as `href.000000000`, `href.000000001`, ... */
  readonly chunkSizeBytes?: number;
}

/**
 * Checks the References section of a descriptor against the package (DSP0243 section 7.1).
 * Nothing is fetched: an href is only ever looked up inside the package.
 * @param references the References/File elements, in document order.
 * @param archive the opened package.
 * @param opts descriptorOnly: missing files are returned as warnings instead of thrown.
 * @returns warnings (only in descriptor-only mode: one per missing file).
 * @throws PackageError (file = the href) when an href is refused by {@link nameProblem} (or,
 *   in a directory package, resolves through a symbolic link or to a special file); when two
 *   File elements share an ovf:id or a canonical href; or, unless descriptorOnly, when a file
 *   (the first chunk `href.000000000` of a chunked file) is missing, with {@link describeMissing}'s text.
 */
export function checkReferences(references: readonly ReferencedFile[], archive: Archive, opts: { descriptorOnly?: boolean } = {}): string[] {
  const warnings: string[] = [];
  const byHref = new Map<string, ReferencedFile>();
  const byId = new Map<string, ReferencedFile>();
  for (const file of references) {
    const label = `References/File ${quoteName(file.id)}`;
    const name = checkName(file.href, archive.source, `${label}: ovf:href`);
    const sameId = byId.get(file.id);
    if (sameId) throw new PackageError(`${archive.source}: two References/File elements have ovf:id ${quoteName(file.id)}`, { file: file.href });
    const sameHref = byHref.get(name);
    if (sameHref) {
      throw new PackageError(`${archive.source}: ${label} and References/File ${quoteName(sameHref.id)} both have ovf:href ${quoteName(name)}; duplicate hrefs are refused`, { file: file.href });
    }
    byId.set(file.id, file);
    byHref.set(name, file);
    const lookup = file.chunkSizeBytes !== undefined ? chunkName(name, 0) : name;
    if (archive.find(lookup) === undefined) {
      const why = `${describeMissing(archive, lookup)}; ${label} references it`;
      if (!opts.descriptorOnly) throw new PackageError(why, { file: file.href });
      warnings.push(why);
    }
  }
  return warnings;
}
