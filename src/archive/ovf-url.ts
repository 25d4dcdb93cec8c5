// An OVF package on an HTTP server: the .ovf at a URL, its files beside it under the same URL directory, read by range requests.
import { posix } from 'node:path';
import { PackageError } from '../errors.js';
import type { HttpSession } from '../source/http-options.js';
import { memoryReader } from '../source/reader.js';
import type { HttpRangeReader } from '../source/http-reader.js';
import { statHttpFile } from '../source/http-source.js';
import { decodeXmlBytes, parseXml, type XmlElement } from '../xml/parse.js';
import { attr } from '../xml/access.js';
import { checkHref, RangeReader, type Span } from './access.js';
import { chunkName } from './chunks.js';
import type { Archive, ArchiveEntry, ByteRange } from './model.js';
import { notLocal } from './ova.js';
import { describeMissing, nameProblem } from './policy.js';

/** Lookups of neighbours in flight at once. */
const PARALLEL = 4;

/**
 * The URL of a package file beside the descriptor: each `/`-separated step percent-encoded
 * (hrefs are never percent-decoded: `a%20b` names the file `a%20b`), resolved against the
 * descriptor's directory, and checked to stay there (same scheme, host and port, path below it).
 * @throws PackageError when it would leave the directory.
 */
export function neighbourUrl(directory: URL, name: string, source: string): URL {
  const url = new URL(name.split('/').map(encodeURIComponent).join('/'), directory);
  if (url.origin !== directory.origin || !url.pathname.startsWith(directory.pathname)) {
    throw new PackageError(`${source}: file reference "${name}" would leave the package's URL directory`, { file: name });
  }
  return url;
}

/** Every References/File ovf:href and ovf:chunkSize of a descriptor (DSP0243 7.1), or none when it does not parse (the OVF parser reports that). */
function referencedFiles(descriptor: Buffer, name: string): { href: string; chunked: boolean }[] {
  let root: XmlElement;
  try {
    root = parseXml(decodeXmlBytes(descriptor), name);
  } catch {
    return [];
  }
  const ovfNs = root.ns;
  return root.children
    .filter((c) => c.local === 'References')
    .flatMap((r) => r.children.filter((f) => f.local === 'File'))
    .flatMap((f) => {
      const href = attr(f, 'href', { ovfNs });
      return href === undefined ? [] : [{ href, chunked: attr(f, 'chunkSize', { ovfNs }) !== undefined }];
    });
}

/** Archive over a URL directory: only the files the descriptor names (and its .mf, .cert) are known, looked up at open. */
class OvfUrlArchive extends RangeReader implements Archive {
  readonly kind = 'ovf' as const;
  readonly local = false;

  constructor(
    readonly source: string,
    readonly descriptorName: string,
    readonly directory: string,
    private readonly descriptor: Buffer,
    private readonly files: ReadonlyMap<string, HttpRangeReader>,
    private readonly session: HttpSession,
  ) {
    super();
  }

  get bytesTransferred(): number {
    return this.session.bytesReceived;
  }

  async readDescriptor(): Promise<Buffer> {
    return this.descriptor;
  }

  entries(): ArchiveEntry[] {
    return [{ name: this.descriptorName, size: this.descriptor.length }, ...[...this.files].map(([name, r]) => ({ name, size: r.size }))];
  }

  find(href: string): ArchiveEntry | undefined {
    const name = checkHref(href, this.source);
    if (name === this.descriptorName) return { name, size: this.descriptor.length };
    const reader = this.files.get(name);
    return reader && { name, size: reader.size };
  }

  span(href: string): Span {
    const name = checkHref(href, this.source);
    if (name === this.descriptorName) return { reader: memoryReader(this.source, this.descriptor), offset: 0, size: this.descriptor.length };
    const reader = this.files.get(name);
    if (!reader) throw new PackageError(describeMissing(this, href), { file: href });
    return { reader, offset: 0, size: reader.size };
  }

  locate(href: string): ByteRange {
    this.span(href);
    throw notLocal(this.source, href);
  }

  async locatePadded(href: string): Promise<ByteRange> {
    return this.locate(href);
  }
}

/**
 * Opens an OVF package whose descriptor is at a URL (DSP0243 section 5.1: the files beside
 * it). A URL directory cannot be listed, so the files are looked up at once (HEAD,
 * statHttpFile): the manifest and certificate named like the descriptor, every
 * References/File href the path policy accepts (policy.ts nameProblem: no scheme, no absolute
 * path, no `..`), and the chunks of a chunked file up to the first one missing. Each stays
 * under the descriptor's URL directory (neighbourUrl). Refused hrefs are not looked up: the
 * plan's checkReferences refuses them with the usual message.
 * @param source the URL as named (display form); `descriptorUrl` the URL that served the descriptor (after redirects).
 * @throws TransferError when a lookup fails other than with 404 (statHttpFile).
 */
export async function openOvfUrl(source: string, descriptor: Buffer, descriptorUrl: URL, session: HttpSession): Promise<Archive> {
  const directory = new URL('./', descriptorUrl);
  directory.search = '';
  const base = posix.basename(descriptorUrl.pathname);
  let descriptorName = base;
  try {
    descriptorName = decodeURIComponent(base);
  } catch {
    // a malformed escape: keep the name as written
  }
  const stem = descriptorName.replace(/\.ovf$/i, '');
  const names = new Set([`${stem}.mf`, `${stem}.MF`, `${stem}.cert`, `${stem}.CERT`]);
  const chunked: string[] = [];
  for (const f of referencedFiles(descriptor, descriptorName)) {
    if (nameProblem(f.href) !== undefined) continue;
    const name = checkHref(f.href, source);
    if (f.chunked) chunked.push(name);
    else names.add(name);
  }
  names.delete(descriptorName);
  const files = new Map<string, HttpRangeReader>();
  const look = async (name: string): Promise<boolean> => {
    const reader = await statHttpFile(session, neighbourUrl(directory, name, source));
    if (reader) files.set(name, reader);
    return reader !== undefined;
  };
  const queue = [...names];
  await Promise.all(Array.from({ length: PARALLEL }, async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) await look(name);
  }));
  for (const href of chunked) for (let i = 0; await look(chunkName(href, i)); i++);
  return new OvfUrlArchive(source, descriptorName, directory.href, descriptor, files, session);
}
