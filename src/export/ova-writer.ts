// Streaming OVA writer (DSP0243 5.3, IEEE 1003.1-2008 ustar) with no temporary file: members go
// straight into PATH.part, headers are patched in place, and the file takes the name PATH only when
// complete, never over a file that exists there unless the output guard allows it (output.ts).
import { createHash, type Hash } from 'node:crypto';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DigestAlgorithm } from '../archive/manifest.js';
import { nameProblem } from '../archive/policy.js';
import { BLOCK_SIZE, paddedSize, ustarHeader } from '../archive/tar-format.js';
import { PackageError, VirtOvfError } from '../errors.js';
import type { Ticket } from '../journal/journal.js';
import { partRemedy } from '../journal/stale.js';
import { openExclusive } from '../journal/tracked.js';
import { OutputGuard } from './output.js';

/** Size in bytes and digest (lower-case hex, '' without an algorithm) of one member's exact bytes. */
export interface MemberResult { readonly size: number; readonly digest: string }

/** A member being streamed: chunks are written and hashed in one pass. */
export interface OvaFileSink {
  /** Appends `chunk`; resolves once it is written. Calls must not overlap. */
  write(chunk: Uint8Array): Promise<void>;
  /** Pads the member to a whole block and patches its header with the real size and checksum. */
  end(): Promise<MemberResult>;
}

/** An OVA under construction. Members are written in call order. */
export interface OvaWriter {
  /** The OVA that `finish` creates, and `path + '.part'`, the file written until then. */
  readonly path: string;
  readonly partPath: string;
  /** Writes the header of a `bytes`-long member whose content `fill` writes later (the OVF, the manifest, the certificate). */
  reserve(name: string, bytes: number): Promise<void>;
  /** Starts a member of unknown size (a disk); only one may be open at a time. */
  beginFile(name: string): OvaFileSink;
  /** Writes the content of a reserved member; it must be exactly the reserved size. */
  fill(name: string, content: Buffer): Promise<MemberResult>;
  /** Writes the end-of-archive blocks, syncs, and gives `partPath` the name `path` (options.guard decides whether an existing `path` is replaced). */
  finish(): Promise<void>;
  /** Closes and removes `partPath`; safe to call at any time, any number of times. */
  abort(): Promise<void>;
}

/** Options of {@link createOvaWriter}. */
export interface OvaWriterOptions {
  /** Digest computed over every member's bytes while they are written (default sha256); none skips hashing. */
  readonly digest?: DigestAlgorithm | 'none';
  /** Modification time written in the headers (default: now). */
  readonly mtime?: Date;
  /** Decides whether a file found at `path` at the end may be replaced (default: never; see output.ts). */
  readonly guard?: OutputGuard;
}

/**
 * Creates `path + '.part'` (which must not exist) and returns a writer for it. Nothing is
 * buffered beyond the chunk being written and nothing is read back: each member's digest is
 * computed from the bytes as they are written. The first member must be the descriptor
 * (`*.ovf`, DSP0243 5.3); names must pass the importer's path policy (archive/policy.ts).
 * Sizes above 8 GiB - 1 use GNU tar's base-256 size field (read by GNU tar, Python's tarfile,
 * VirtualBox's IPRT tar reader and virt-ovf).
 * @param path the OVA to create.
 * @param opts digest algorithm (sha256 by default) and header mtime.
 * @throws PackageError (file = the .part) when the .part exists (a concurrent or killed
 *   export: remove it) or cannot be created. `finish` never replaces a file that exists at
 *   `path` (it throws UsageError) unless `opts.guard` is forced and allows it. The writer's methods throw PackageError on write
 *   errors and VirtOvfError on misuse (a first member that is not the .ovf, a duplicate or
 *   policy-refused name, overlapping members, an unknown or mis-sized region, a region never
 *   filled at finish).
 */
export async function createOvaWriter(path: string, opts: OvaWriterOptions = {}): Promise<OvaWriter> {
  const [partPath, algorithm] = [`${path}.part`, opts.digest ?? 'sha256'];
  const mtime = Math.floor((opts.mtime ?? new Date()).getTime() / 1000);
  const ioError = (cause: unknown): PackageError => new PackageError(`${partPath}: cannot write: ${(cause as Error).message}`, { file: partPath, cause });
  let fh: FileHandle | undefined;
  let ticket: Ticket | undefined; // the .part's entry in the run journal
  try {
    ({ handle: fh, ticket } = await openExclusive(partPath, 0o644));
  } catch (cause) {
    throw new PackageError((cause as NodeJS.ErrnoException).code === 'EEXIST' ? `${partPath} already exists; ${partRemedy(partPath)}` : `${partPath}: cannot create: ${(cause as Error).message}`, { file: partPath, cause });
  }
  let [pos, busy]: [number, string | undefined] = [0, undefined];
  let state: 'open' | 'closed' | 'finished' | 'aborted' = 'open';
  const names = new Set<string>();
  const regions = new Map<string, { offset: number; bytes: number; filled: boolean }>();
  const misuse = (why: string): VirtOvfError => new VirtOvfError(`OVA writer (${partPath}): ${why}`);
  const writeAt = async (data: Uint8Array, position: number): Promise<void> => {
    if (state !== 'open') throw misuse(`the writer is ${state}`);
    try {
      for (let done = 0; done < data.length; ) done += (await fh!.write(data, done, data.length - done, position + done)).bytesWritten;
    } catch (cause) {
      throw ioError(cause);
    }
  };
  const hash = (): Hash | undefined => (algorithm === 'none' ? undefined : createHash(algorithm));
  /** Claims the next header position for `name`. */
  const claim = (name: string): number => {
    if (state !== 'open') throw misuse(`the writer is ${state}`);
    const why = nameProblem(name);
    if (why !== undefined) throw misuse(`member name ${JSON.stringify(name)} ${why}`);
    if (names.has(name)) throw misuse(`member ${JSON.stringify(name)} is already written`);
    if (names.size === 0 && !/\.ovf$/i.test(name)) throw misuse(`the first member must be the .ovf descriptor (DSP0243 5.3), not ${JSON.stringify(name)}`);
    if (busy !== undefined) throw misuse(`member ${JSON.stringify(busy)} is still being written`);
    names.add(name);
    return pos;
  };

  return {
    path,
    partPath,
    async reserve(name, bytes) {
      if (!Number.isSafeInteger(bytes) || bytes < 0) throw misuse(`cannot reserve ${bytes} bytes for ${JSON.stringify(name)}`);
      const at = claim(name);
      pos = at + BLOCK_SIZE + paddedSize(bytes);
      regions.set(name, { offset: at + BLOCK_SIZE, bytes, filled: false });
      await writeAt(ustarHeader(name, bytes, mtime), at);
    },
    beginFile(name) {
      const at = claim(name);
      busy = name;
      const digest = hash();
      let size = 0;
      // A failed write rejects `chain`; end() reports it, and an abandoned sink must not crash the process.
      const track = (p: Promise<void>): Promise<void> => (p.catch(() => undefined), p);
      let chain = track(writeAt(ustarHeader(name, 0, mtime), at));
      return {
        async write(chunk) {
          const start = at + BLOCK_SIZE + size;
          size += chunk.length;
          digest?.update(chunk);
          chain = track(chain.then(() => writeAt(chunk, start)));
          await chain;
        },
        async end() {
          await chain;
          if (busy !== name) throw misuse(`member ${JSON.stringify(name)} was already ended`);
          const tail = paddedSize(size) - size;
          if (tail > 0) await writeAt(Buffer.alloc(tail), at + BLOCK_SIZE + size);
          await writeAt(ustarHeader(name, size, mtime), at);
          pos = at + BLOCK_SIZE + paddedSize(size);
          busy = undefined;
          return { size, digest: digest?.digest('hex') ?? '' };
        },
      };
    },
    async fill(name, content) {
      const region = regions.get(name);
      if (!region) throw misuse(`no region was reserved for ${JSON.stringify(name)}`);
      if (region.filled) throw misuse(`the region of ${JSON.stringify(name)} is already filled`);
      if (content.length !== region.bytes) throw misuse(`${JSON.stringify(name)} is ${content.length} bytes, but ${region.bytes} were reserved`);
      await writeAt(content, region.offset);
      region.filled = true;
      return { size: content.length, digest: hash()?.update(content).digest('hex') ?? '' };
    },
    async finish() {
      if (busy !== undefined) throw misuse(`member ${JSON.stringify(busy)} is still being written`);
      const empty = [...regions].filter(([, r]) => !r.filled).map(([n]) => n);
      if (empty.length > 0) throw misuse(`reserved member(s) never filled: ${empty.join(', ')}`);
      // Two zero blocks end the archive (ustar); members' padding was written with them.
      await writeAt(Buffer.alloc(2 * BLOCK_SIZE), pos);
      try {
        await fh!.sync();
        await fh!.close();
        state = 'closed';
      } catch (cause) {
        throw ioError(cause);
      }
      await (opts.guard ?? new OutputGuard(null, false)).place([{ part: partPath, final: path }]);
      state = 'finished';
      ticket?.forget();
      try {
        const dir = await open(dirname(path), 'r');
        await dir.sync().finally(() => dir.close());
      } catch (cause) {
        throw ioError(cause);
      }
    },
    async abort() {
      if (state === 'finished') return;
      if (state === 'open') await fh!.close().catch(() => undefined);
      state = 'aborted';
      await unlink(partPath).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw ioError(err);
      });
      ticket?.forget();
    },
  };
}
