// qemu-img map: the allocation of an image as a stream of extents (qemu-img(1) map --output=json).
import { execa } from 'execa';
import { ToolError } from '../errors.js';
import { diesWithParent, trackChild } from '../journal/children.js';
import { explain, localImageFilename, QEMU_IMG, type ImageFormat } from './qemu-img.js';

/** One line of `qemu-img map --output=json`: a run of guest bytes with one allocation status. */
export interface MapExtent {
  /** Guest offset of the run, in bytes. */
  readonly start: number;
  /** Length of the run, in bytes. */
  readonly length: number;
  /** The run holds data in the image (or its backing chain). */
  readonly data: boolean;
  /** The run reads as zeros. */
  readonly zero: boolean;
  /** Which image of the backing chain holds the run: 0 = the image itself. */
  readonly depth: number;
  /**
   * Where the run's bytes sit, uncompressed, in the file holding them (the image itself for a
   * raw or qcow2 image without an external data file, at depth 0), in bytes; absent when they
   * are not stored as is (compressed, encrypted, unallocated).
   */
  readonly offset?: number;
  /** The run is stored compressed (qemu 8.2+ says so; older ones omit the offset). */
  readonly compressed?: boolean;
}

/** Parses one line of qemu-img's JSON map (`[{ ...},`, `{ ...},` or `{ ...}]`); undefined for `[` / `]` / `[]`. */
function parseMapLine(line: string): MapExtent | undefined {
  const body = line.trim().replace(/^\[/, '').replace(/[,\]]$/, '').trim();
  if (body === '' || body === ']') return undefined;
  const j = JSON.parse(body) as Record<string, unknown>;
  return {
    start: Number(j['start']),
    length: Number(j['length']),
    data: j['data'] === true,
    zero: j['zero'] === true,
    depth: Number(j['depth'] ?? 0),
    ...(typeof j['offset'] === 'number' ? { offset: j['offset'] } : {}),
    ...(j['compressed'] === true ? { compressed: true } : {}),
  };
}

/**
 * `qemu-img map --output=json -f FORMAT` on a local image (backing chain included), or on
 * `opts.filename` (a json: pseudo-filename) instead of `path`, streamed:
 * extents are yielded as qemu-img prints them (one per line), so memory stays bounded however
 * fragmented the image is. Extents are contiguous and cover the whole virtual size, in order.
 * @throws ToolError when qemu-img fails; rejects with the signal's reason when aborted.
 */
export async function* imageMap(path: string, format: ImageFormat, opts: { signal?: AbortSignal; filename?: string } = {}): AsyncGenerator<MapExtent> {
  const args = ['map', '--output=json', '-f', format, opts.filename ?? localImageFilename(path)];
  const command = `${QEMU_IMG} ${args.join(' ')}`;
  const guarded = diesWithParent(QEMU_IMG, args);
  const child = execa(guarded.file, guarded.args, {
    ...(opts.signal ? { cancelSignal: opts.signal } : {}),
    stdin: 'ignore',
    buffer: { stdout: false, stderr: true },
  });
  const untrack = trackChild(child.pid, command);
  let finished = false;
  try {
    for await (const line of child.iterable({ from: 'stdout' })) {
      const extent = parseMapLine(String(line));
      if (extent) yield extent;
    }
    await child;
    finished = true;
  } catch (err) {
    finished = true;
    const e = err as { stderr?: string; exitCode?: number; isCanceled?: boolean; code?: string };
    if (e.isCanceled) throw opts.signal?.reason ?? err;
    if (e.code === 'ENOENT') throw new ToolError('qemu-img not found: install it (Debian: apt-get install qemu-utils)', { command, cause: err });
    throw new ToolError(`qemu-img map failed: ${explain(e.stderr ?? (err as Error).message)}`, {
      command,
      ...(e.exitCode !== undefined ? { exitCode: e.exitCode } : {}),
      stderr: e.stderr ?? '',
      cause: err,
    });
  } finally {
    if (!finished) {
      child.kill();
      child.catch(() => undefined);
    }
    untrack();
  }
}
