// qemu-img adapter: info, create and convert, always with an explicit -f (qemu-img(1)).
import { execa, type ResultPromise } from 'execa';
import { ToolError } from '../errors.js';
import { diesWithParent, trackChild } from '../journal/children.js';
import { isNoSpaceText, noSpaceError } from './no-space.js';
import { infoLimits, limitedCommand, type ProcessLimits } from './process-limits.js';
import { describeBytes } from './size-policy.js';

/** Formats qemu-img reads here. */
export type ImageFormat = 'vmdk' | 'qcow2' | 'raw' | 'vpc' | 'vhdx' | 'vdi';

/** Where qemu-img reads an image: a byte range of a host file (an OVA member or a plain file). */
export interface ImageSource {
  /** Host file holding the bytes. */
  readonly path: string;
  /** Byte offset of the image within `path`. */
  readonly offset: number;
  /** Length in bytes. */
  readonly size: number;
  readonly format: ImageFormat;
  /** What to call the image in messages (the href, and the OVA it sits in). */
  readonly label?: string;
  /** The range is the whole of `path` (a file beside the .ovf): qemu reads the file itself, with no offset/size layer. */
  readonly wholeFile?: boolean;
  /**
   * A checked VMDK delta in a private directory where import placed its parents under the
   * names it gives: qemu may open that backing chain (otherwise `backing: null` forbids any).
   */
  readonly followBacking?: boolean;
  /** The json: pseudo-filename qemu opens instead of `path` (an exported disk as the guest sees it, src/export/source-qemu.ts). */
  readonly filename?: string;
}

/** What `qemu-img info --output=json` says, sizes in bytes. */
export interface ImageInfo {
  readonly format: string;
  readonly virtualSizeBytes: number;
  readonly backingFilename?: string;
  /** VMDK create-type (streamOptimized, monolithicSparse, ...), when VMDK. */
  readonly vmdkCreateType?: string;
  readonly raw: Record<string, unknown>;
}

export const QEMU_IMG = process.env['VIRT_OVF_QEMU_IMG'] ?? 'qemu-img';

/**
 * The filename qemu-img opens: a `json:` pseudo-filename that wraps the host file in a raw
 * layer with `offset`/`size`, so an OVA member is read in place (as virt-v2v does). Built
 * only from the package path (chosen by the user) and the tar index, never from descriptor text.
 * `"backing": null` tells qemu never to open a backing file the image names (defence in
 * depth: checkImage refuses such images first); the format driver comes from `-f`.
 */
export function sourceFilename(src: ImageSource): string {
  if (src.filename !== undefined) return src.filename;
  const file = { driver: 'file', filename: src.path };
  if (src.wholeFile && src.followBacking) return `json:${JSON.stringify({ file })}`;
  if (src.wholeFile) return `json:${JSON.stringify({ backing: null, file })}`;
  return `json:${JSON.stringify({ backing: null, file: { driver: 'raw', offset: src.offset, size: src.size, file } })}`;
}

/** qemu-img's message with the json: pseudo-filename replaced by the image's label. */
export function explain(stderr: string, src?: ImageSource): string {
  const text = stderr.trim().replace(/^qemu-img: /, '');
  return src?.label ? text.split(`'${sourceFilename(src)}'`).join(src.label) : text;
}

/** Options of one qemu-img run: cancellation, resource limits (prlimit) and the image for messages. */
interface RunOptions {
  signal?: AbortSignal;
  limits?: ProcessLimits;
  src?: ImageSource;
}

/** Why a limited qemu-img died, from execa's error: timeout, CPU limit, or a crash under the memory limit. */
function limitFailure(e: { timedOut?: boolean; signal?: string }, limits: ProcessLimits, what: string): string | undefined {
  if (e.timedOut) return `${what} timed out after ${limits.timeoutMs} ms and was killed (a hostile or unreadable image?)`;
  if (e.signal === 'SIGXCPU') return `${what} was killed after its CPU-time limit of ${limits.cpuSeconds} s`;
  if (e.signal) return `${what} died of ${e.signal} (it runs with a CPU-time limit of ${limits.cpuSeconds} s and an address-space limit of ${describeBytes(limits.addressSpaceBytes)})`;
  return undefined;
}

async function run(args: string[], opts: RunOptions = {}): Promise<string> {
  const command = `${QEMU_IMG} ${args.join(' ')}`;
  const limited = opts.limits ? limitedCommand(QEMU_IMG, args, opts.limits) : { file: QEMU_IMG, args };
  const guarded = diesWithParent(limited.file, limited.args);
  let untrack = (): void => undefined;
  try {
    const child = execa(guarded.file, guarded.args, {
      ...(opts.signal ? { cancelSignal: opts.signal } : {}),
      ...(opts.limits ? { timeout: opts.limits.timeoutMs } : {}),
      stdin: 'ignore',
    });
    untrack = trackChild(child.pid, command);
    return (await child).stdout;
  } catch (err) {
    const e = err as { stderr?: string; exitCode?: number; timedOut?: boolean; isCanceled?: boolean; code?: string; signal?: string };
    if (e.isCanceled) throw opts.signal?.reason ?? err;
    if (e.code === 'ENOENT' || (e.exitCode === 127 && /^(prlimit|setpriv): failed to execute/m.test(e.stderr ?? ''))) {
      throw new ToolError('qemu-img not found: install it (Debian: apt-get install qemu-utils)', { command, cause: err });
    }
    const label = opts.src?.label ? ` on ${opts.src.label}` : '';
    const stderr = explain(e.stderr ?? '', opts.src);
    const killed = opts.limits && limitFailure(e, opts.limits, `qemu-img ${args[0]}${label}`);
    const why = killed ? `${killed}${stderr ? `: ${stderr}` : ''}` : `qemu-img failed: ${stderr}`;
    throw new ToolError(why, { command, ...(e.exitCode !== undefined ? { exitCode: e.exitCode } : {}), stderr: e.stderr ?? '', cause: err });
  } finally {
    untrack();
  }
}

/**
 * `qemu-img info --output=json -f FORMAT` on a byte range, under resource limits (see infoLimits:
 * 30 s CPU and 1 GiB address space through prlimit(1) when installed, and always a wall-clock
 * timeout, 60 s or `$VIRT_OVF_QEMU_IMG_TIMEOUT_MS`). Run checkImage first: this opens the image.
 * @throws ToolError when qemu-img cannot open the bytes as `format` (it checks the format's magic),
 *   or is killed by a limit ("timed out after N ms and was killed", "CPU-time limit").
 */
export async function imageInfo(src: ImageSource, opts: { signal?: AbortSignal; limits?: Partial<ProcessLimits> } = {}): Promise<ImageInfo> {
  const out = await run(['info', '--output=json', '-f', src.format, sourceFilename(src)], {
    ...(opts.signal ? { signal: opts.signal } : {}),
    limits: infoLimits(opts.limits),
    src,
  });
  const json = JSON.parse(out) as Record<string, unknown>;
  const specific = (json['format-specific'] as { type?: string; data?: Record<string, unknown> } | undefined)?.data;
  return {
    format: String(json['format']),
    virtualSizeBytes: Number(json['virtual-size']),
    raw: json,
    ...(typeof json['backing-filename'] === 'string' ? { backingFilename: json['backing-filename'] } : {}),
    ...(specific && typeof specific['create-type'] === 'string' ? { vmdkCreateType: specific['create-type'] } : {}),
  };
}

/** The first line of a qemu-img failure that says the disk is full (each parallel write repeats it), without qemu-img's own prefix. */
function firstNoSpaceLine(message: string): string {
  const lines = message.split('\n');
  const line = lines.find(isNoSpaceText) ?? lines[0]!;
  return line === lines[0] ? line : `${lines[0]!.replace(/:.*$/, '')}: ${line.replace(/^qemu-img: /, '')}`;
}

/** What to do when a target's filesystem is full. */
export const TARGET_FULL = 'free some space there, or choose another pool or output directory';

/**
 * `qemu-img create -f FORMAT PATH SIZE` (sizes in bytes).
 * @throws NoSpaceError when the filesystem of `path` is full; ToolError otherwise.
 */
export async function createImage(path: string, format: 'qcow2' | 'raw', sizeBytes: number): Promise<void> {
  await run(['create', '-q', '-f', format, path, String(sizeBytes)]).catch(async (err: unknown) => {
    if (err instanceof ToolError && isNoSpaceText(err.stderr)) throw await noSpaceError(err, { path, what: firstNoSpaceLine(err.message), remedy: TARGET_FULL });
    throw err;
  });
}

/**
 * `qemu-img convert [--object OBJ]... -p -f SRC -O FMT [-n] SRC DST`, reporting progress in
 * percent. DST is a path or a `json:` filename (an RBD image, transfer/rbd.ts).
 * `existingTarget` adds -n: the target (a libvirt volume) already exists with enough capacity.
 * @throws NoSpaceError (exit 5, naming the full filesystem) when the target's filesystem fills
 *   up; ToolError on any other failure; rejects with the signal's reason when aborted (qemu-img is killed).
 */
export async function convertImage(opts: {
  src: ImageSource;
  target: string;
  targetFormat: 'qcow2' | 'raw';
  existingTarget: boolean;
  /** With existingTarget: the target reads as zeros (a new RBD image), so qemu-img writes no zeros (`--target-is-zero`). */
  targetIsZero?: boolean;
  /** `--object` values the target needs (a secret object holding an rbd key, read from a file). */
  objects?: readonly string[];
  onProgress?: (percent: number) => void;
  signal?: AbortSignal;
}): Promise<void> {
  const args = ['convert', ...(opts.objects ?? []).flatMap((o) => ['--object', o]), '-p', '-W', '-f', opts.src.format, '-O', opts.targetFormat];
  if (opts.existingTarget) args.push('-n');
  if (opts.existingTarget && opts.targetIsZero) args.push('--target-is-zero');
  args.push(sourceFilename(opts.src), opts.target);
  const command = `${QEMU_IMG} ${args.join(' ')}`;
  const guarded = diesWithParent(QEMU_IMG, args);
  const child: ResultPromise = execa(guarded.file, guarded.args, { ...(opts.signal ? { cancelSignal: opts.signal } : {}), stdin: 'ignore', buffer: { stdout: false, stderr: true } });
  const untrack = trackChild(child.pid, command);
  child.stdout?.setEncoding('utf8');
  let pending = '';
  child.stdout?.on('data', (chunk: string) => {
    pending += chunk;
    const matches = [...pending.matchAll(/\((\d+(?:\.\d+)?)\/100%\)/g)];
    if (matches.length > 0) {
      opts.onProgress?.(Number(matches[matches.length - 1]![1]));
      pending = pending.slice(matches[matches.length - 1]!.index! + 1);
    }
  });
  try {
    await child;
  } catch (err) {
    const e = err as { stderr?: string; exitCode?: number; isCanceled?: boolean };
    if (e.isCanceled) throw opts.signal?.reason ?? err;
    const why = `qemu-img convert failed: ${explain(e.stderr ?? '', opts.src)}`;
    if (isNoSpaceText(e.stderr ?? '')) throw await noSpaceError(err, { path: opts.target, what: firstNoSpaceLine(why), remedy: TARGET_FULL });
    throw new ToolError(why, {
      command,
      ...(e.exitCode !== undefined ? { exitCode: e.exitCode } : {}),
      stderr: e.stderr ?? '',
      cause: err,
    });
  } finally {
    untrack();
  }
}

/**
 * The filename qemu opens for a host file given by path: a `json:` pseudo-filename with the
 * `file` protocol, so a name holding `:` is never taken for a protocol (`nbd:`, `ssh:`...).
 * Unlike {@link sourceFilename}, backing files are followed: an exported volume may be an
 * overlay whose guest-visible bytes include its backing chain.
 */
export function localImageFilename(path: string): string {
  return `json:${JSON.stringify({ file: { driver: 'file', filename: path } })}`;
}
