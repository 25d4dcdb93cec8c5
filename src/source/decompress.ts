// Compressed packages, decompressed on the fly: how the bytes are packed (magic numbers), gzip
// through node:zlib, xz and zstd through the Debian tools as piped children that die with virt-ovf.
import { execa } from 'execa';
import { PassThrough, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { PackageError, ToolError } from '../errors.js';
import { diesWithParent, trackChild } from '../journal/children.js';

/** How a package's bytes are packed: a compressed tar, a zip archive, or a plain tar (`none`). */
export type Packing = 'gzip' | 'xz' | 'zstd' | 'zip' | 'none';

/** Bytes needed by {@link detectPacking}. */
export const MAGIC_BYTES = 6;

/** Magic numbers: gzip (RFC 1952), xz (.xz file format 1.0.4), zstd frame (RFC 8878), zip local file header (APPNOTE 4.3.7). */
const MAGIC: readonly [Exclude<Packing, 'none'>, Buffer][] = [
  ['gzip', Buffer.from([0x1f, 0x8b])],
  ['xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])],
  ['zstd', Buffer.from([0x28, 0xb5, 0x2f, 0xfd])],
  ['zip', Buffer.from([0x50, 0x4b, 0x03, 0x04])],
];

/** The packing the first bytes of a package announce; `none` when no magic matches (a tar, or not a package). */
export function detectPacking(head: Buffer): Packing {
  return MAGIC.find(([, magic]) => head.length >= magic.length && head.subarray(0, magic.length).equals(magic))?.[0] ?? 'none';
}

/** The Debian tool that decompresses each format to stdout, its package, and its arguments. */
const TOOLS = {
  xz: { file: 'xz', pkg: 'xz-utils', args: ['-dc', '-T0'] },
  zstd: { file: 'zstd', pkg: 'zstd', args: ['-dc', '-q'] },
} as const;

/**
 * The decompressed bytes of `input` (a tar compressed with `packing`), streamed: gzip through
 * node:zlib (multi-member files included), xz and zstd through `xz -dc -T0` and `zstd -dc` as
 * child processes that die with virt-ovf (setpriv --pdeathsig) and are journaled while they run.
 * Destroying the returned stream kills the child.
 * @param source the package's name for messages (`-`, a path or URL).
 * @returns a Readable that fails with PackageError (file = `source`) when the data is corrupt or
 *   cut short (the decompressor's own words), with ToolError when the tool is missing, and with
 *   the error of `input` when reading it fails.
 */
export function decompress(input: Readable, packing: 'gzip' | 'xz' | 'zstd', source: string): Readable {
  const corrupt = (why: string, cause?: unknown): PackageError =>
    new PackageError(`${source}: the ${packing}-compressed package cannot be decompressed: ${why}`, { file: source, cause });
  if (packing === 'gzip') {
    const gunzip = createGunzip({ chunkSize: 1024 * 1024 });
    const out = new PassThrough({ highWaterMark: 1024 * 1024 });
    input.on('error', (err) => out.destroy(err));
    gunzip.on('error', (err) => out.destroy(corrupt(err.message, err)));
    out.on('close', () => {
      input.destroy();
      gunzip.destroy();
    });
    return input.pipe(gunzip).pipe(out);
  }
  return throughTool(input, TOOLS[packing], corrupt);
}

/** Pipes `input` through a decompressing child; its stdout is the result, its stderr the reason of a failure. */
function throughTool(input: Readable, tool: (typeof TOOLS)['xz' | 'zstd'], corrupt: (why: string, cause?: unknown) => PackageError): Readable {
  const out = new PassThrough({ highWaterMark: 1024 * 1024 });
  const guarded = diesWithParent(tool.file, tool.args);
  const command = `${tool.file} ${tool.args.join(' ')}`;
  const child = execa(guarded.file, guarded.args, { reject: false, stdin: 'pipe', stdout: 'pipe', buffer: { stdout: false, stderr: true }, stripFinalNewline: true });
  const untrack = trackChild(child.pid, command);
  let inputFailure: Error | undefined;
  input.on('error', (err) => {
    inputFailure = err;
    child.kill('SIGKILL');
  });
  // The child may stop reading (corrupt data): its exit status says why, not the broken pipe.
  child.stdin?.on('error', () => undefined);
  input.pipe(child.stdin!);
  child.stdout!.pipe(out, { end: false });
  out.on('close', () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    input.destroy();
  });
  void child.then((r) => {
    untrack();
    if (out.destroyed) return;
    if (inputFailure) return void out.destroy(inputFailure);
    if ((r as { code?: string }).code === 'ENOENT') {
      return void out.destroy(new ToolError(`${tool.file} not found: install it to read this package (Debian: apt-get install ${tool.pkg})`, { command }));
    }
    if (r.exitCode !== 0) return void out.destroy(corrupt(`${String(r.stderr).trim() || `${tool.file} exited with status ${r.exitCode}`}`));
    out.end();
  });
  return out;
}
