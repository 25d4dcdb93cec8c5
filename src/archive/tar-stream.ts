// A tar read in one pass (stdin, a decompressor, an HTTP body without ranges): members in archive
// order, each body streamed as it passes, never extracted; the same refusals as the indexed reader.
import { PackageError } from '../errors.js';
import { MemberBody, type SequentialReader, type StreamMember } from '../source/sequential-reader.js';
import { canonicalName, memberChecker } from './policy.js';
import { tarMembers } from './tar.js';

/**
 * The file members of a tar read front to back from `reader` (IEEE 1003.1-2008 ustar, GNU and
 * pax headers, as archive/tar.ts tarMembers). Each member passes the package policy
 * (policy.ts memberChecker: traversal, absolute and URL names, control characters, links,
 * sparse and special members, duplicates, hostile renames) before it is yielded; directories
 * are skipped. A member the caller leaves unread is drained (and tapped) before the next
 * header is read; after the end-of-archive block the rest of the stream is read and dropped,
 * so the process feeding it ends normally.
 * @param source the package's name for messages (`-` for stdin, the path or URL).
 * @param tap gives a function called with every chunk of a member's bytes (digests), or none.
 * @throws PackageError (file = `source` or the member) for a hostile member, a bad checksum, a
 *   malformed header, or a truncated archive (a header or a member's data cut short).
 */
export async function* readTarStream(reader: SequentialReader, source: string, tap: (name: string) => ((chunk: Buffer) => void) | undefined = () => undefined): AsyncGenerator<StreamMember> {
  const check = memberChecker(source);
  let previous: MemberBody | undefined;
  for await (const m of tarMembers((at, length) => (previous ? previous.drain() : Promise.resolve()).then(() => reader.readAt(at, length)), source, undefined)) {
    check(m);
    previous = undefined;
    if (m.type !== 'file') continue;
    const name = canonicalName(m.rawName);
    const observe = tap(name) ?? (() => undefined);
    const short = (got: number): PackageError =>
      new PackageError(`${source}: truncated archive: member "${m.rawName}" ends after ${got} of its ${m.size} bytes`, { file: source });
    const body = new MemberBody(reader, m.size, observe, short);
    previous = body;
    yield { name, rawName: m.rawName, size: m.size, body: body.stream, settled: body.settled, drain: () => body.drain() };
  }
  await reader.drainAll();
}
