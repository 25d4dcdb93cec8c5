// Byte ranges of any image QEMU opens (a local file or block device, an RBD image, an iSCSI LUN)
// checked for zeros and zeroed with qemu-io(1) (qemu-utils): `read -P 0 OFF LEN`, `write -z OFF LEN`;
// its virtual size as QEMU sees it (qemu-img info).
import { execa } from 'execa';
import { ToolError } from '../errors.js';
import { diesWithParent, trackChild } from '../journal/children.js';
import type { QemuImage } from './qemu-image.js';

const QEMU_IO = process.env['VIRT_OVF_QEMU_IO'] ?? 'qemu-io';
const QEMU_IMG = process.env['VIRT_OVF_QEMU_IMG'] ?? 'qemu-img';
/** Largest range one `read -P` command checks, in bytes (qemu-io holds it in memory). */
const READ_CHUNK_BYTES = 64 * 2 ** 20;
/** Largest range one `write -z` command zeroes, in bytes (below QEMU's request limit of 2 GiB). */
const ZERO_CHUNK_BYTES = 2 ** 30;
/** What qemu-io prints when a `read -P` finds another byte than the pattern. */
const MISMATCH = 'Pattern verification failed';

/** The image qemu-io opens: its json: filename, the --object values it refers to, a label for messages. */
export type QemuIoTarget = Pick<QemuImage, 'filename' | 'objects' | 'label'>;

/** `verb OFF LEN` commands covering [offset, offset + length) in chunks of at most `chunk` bytes. */
function commands(verb: string, offset: number, length: number, chunk: number): string[] {
  const out: string[] = [];
  for (let at = offset; at < offset + length; at += chunk) out.push('-c', `${verb} ${at} ${Math.min(chunk, offset + length - at)}`);
  return out;
}

/** Checks a byte range; throws RangeError for a negative, fractional or unsafe one. */
function checkRange(offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) throw new RangeError(`byte range [${offset}, ${offset}+${length}) is not a range of non-negative integers`);
}

/** The `--object` arguments of `target`'s objects. */
function objectArgs(target: QemuIoTarget): string[] {
  return target.objects.flatMap((o) => ['--object', o]);
}

/** Runs `tool` (qemu-io, qemu-img) with `args`; resolves with its exit code, stdout and all output (never rejects for a non-zero exit). */
async function exec(tool: string, args: readonly string[], signal?: AbortSignal): Promise<{ exitCode: number; stdout: string; output: string; command: string }> {
  const command = `${tool} ${args.join(' ')}`;
  const guarded = diesWithParent(tool, args);
  const child = execa(guarded.file, guarded.args, { reject: false, stdin: 'ignore', all: true, ...(signal ? { cancelSignal: signal } : {}) });
  const untrack = trackChild(child.pid, command);
  try {
    const r = await child;
    if (r.isCanceled) throw signal?.reason ?? new Error('aborted');
    if (r.code === 'ENOENT' || (r.failed && r.exitCode === undefined)) throw new ToolError(r.code === 'ENOENT' ? `${tool} not found: install it (Debian: apt-get install qemu-utils)` : `${tool} failed to start: ${r.message}`, { command, cause: r.cause });
    return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout ?? ''), output: String(r.all ?? ''), command };
  } finally {
    untrack();
  }
}

/** The ToolError for a failed qemu-io (or qemu-img) run: its messages (not the per-command statistics), the json: filename replaced by the label. */
function failure(what: string, target: QemuIoTarget, run: { exitCode: number; output: string; command: string }, tool = 'qemu-io'): ToolError {
  const said = run.output
    .split('\n')
    .filter((l) => l.trim() !== '' && !/^(read|wrote) \d+\/\d+ bytes at offset|^\d+(\.\d+)? \S+, \d+ ops;/.test(l))
    .map((l) => l.replace(/^qemu-(io|img): /, '').split(target.filename).join(target.label))
    .join('; ');
  return new ToolError(`${tool} could not ${what} ${target.label}: ${said || `exit ${run.exitCode}`}`, { command: run.command, exitCode: run.exitCode, stderr: run.output });
}

/**
 * Whether bytes [offset, offset + length) of `target` all read as zero (qemu-io -r, `read -P 0`
 * in chunks of 64 MiB; the image is opened read-only, so one in use by a running guest or
 * qemu-nbd is refused by QEMU's image locking). Offsets and lengths in bytes; the range must lie
 * within the image's virtual size.
 * @returns true when every byte is zero, false when one is not.
 * @throws RangeError for a negative or fractional range; ToolError (exit 5) when qemu-io is
 *   missing, cannot open the image (its message, e.g. a login refused) or the read fails (also
 *   beyond the end); the signal's reason when aborted.
 */
export async function rangeIsZero(target: QemuIoTarget, offset: number, length: number, opts: { signal?: AbortSignal } = {}): Promise<boolean> {
  checkRange(offset, length);
  if (length === 0) return true;
  const run = await exec(QEMU_IO, [...objectArgs(target), '-r', ...commands('read -P 0', offset, length, READ_CHUNK_BYTES), target.filename], opts.signal);
  if (run.output.includes(MISMATCH)) return false;
  if (run.exitCode !== 0) throw failure(`read bytes ${offset}-${offset + length - 1} of`, target, run);
  return true;
}

/**
 * Writes zeros over bytes [offset, offset + length) of `target` (qemu-io `write -z` in chunks of
 * 1 GiB: QEMU's write-zeroes, WRITE SAME on an iSCSI LUN, a bounce buffer where the driver has
 * none), then flushes as qemu-io closes the image. Offsets and lengths in bytes.
 * @throws RangeError for a negative or fractional range; ToolError (exit 5) when qemu-io is
 *   missing, cannot open the image for writing (locked by another process, read-only, login
 *   refused) or the write fails (also beyond the end); the signal's reason when aborted.
 */
export async function writeZeroes(target: QemuIoTarget, offset: number, length: number, opts: { signal?: AbortSignal } = {}): Promise<void> {
  checkRange(offset, length);
  if (length === 0) return;
  const run = await exec(QEMU_IO, [...objectArgs(target), ...commands('write -z', offset, length, ZERO_CHUNK_BYTES), target.filename], opts.signal);
  if (run.exitCode !== 0) throw failure(`write zeros to bytes ${offset}-${offset + length - 1} of`, target, run);
}

/**
 * The virtual size of `target` in bytes as QEMU sees it (`qemu-img info --output=json`): for an
 * iSCSI LUN, READ CAPACITY's block count times the block size (libvirt 9.0's iscsi-direct volume
 * capacity is one block less).
 * @throws ToolError (exit 5) when qemu-img is missing or cannot open the image; the signal's reason when aborted.
 */
export async function virtualSizeBytes(target: QemuIoTarget, opts: { signal?: AbortSignal } = {}): Promise<number> {
  const run = await exec(QEMU_IMG, ['info', ...objectArgs(target), '--output=json', target.filename], opts.signal);
  let size: unknown;
  try {
    size = run.exitCode === 0 ? (JSON.parse(run.stdout) as { 'virtual-size'?: unknown })['virtual-size'] : undefined;
  } catch {
    size = undefined;
  }
  if (typeof size !== 'number') throw failure('read the size of', target, run, 'qemu-img');
  return size;
}
