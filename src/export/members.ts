// What both package writers share: their input, one disk file streamed into a sink, and the final descriptor.
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DigestAlgorithm } from '../archive/manifest.js';
import type { ExportedFile } from '../mapping/reverse.js';
import type { OvfRules } from '../mapping/schema/domain.js';
import type { EnvelopeInput } from '../ovf/model.js';
import type { Reporter } from '../report.js';
import { convertImage } from '../storage/qemu-img.js';
import type { ExportDisk } from './disks.js';
import type { OutputGuard } from './output.js';
import type { OvaFileSink } from './ova-writer.js';
import { copyStreamed } from './stream-copy.js';
import { writeStreamOptimized } from './vmdk/index.js';

/** How the package is written (the part of the export options package writing reads). */
export interface PackageOptions {
  /** OUT.ova, or a directory (ends in / or exists as one) for an unpacked OVF package. */
  readonly output: string;
  readonly ovfVersion: 1 | 2;
  /** deflate level of streamOptimized VMDK grains, 0-9. */
  readonly compressLevel: number;
  readonly manifest: DigestAlgorithm | 'none';
  /** PEM private key and certificate signing the manifest (both or neither). */
  readonly signKey?: string;
  readonly signCert?: string;
}

/** A package file's name and size in bytes; `digest` (lower-case hex) when known. */
export interface WrittenFile {
  readonly name: string;
  readonly sizeBytes: number;
  readonly digest?: string;
}

/** One file of the package: an exported drive's record with its References File (href). */
export type PackageDisk = ExportedFile<ExportDisk>;

export interface PackageInput {
  readonly opts: PackageOptions;
  readonly name: string;
  readonly envelope: EnvelopeInput;
  /** domain.json "ovf" rules for writeEnvelope. */
  readonly ovfRules: OvfRules;
  /** reverse mapping's files, in References order. */
  readonly disks: readonly PackageDisk[];
  readonly workDir: string;
  /** Decides whether an existing file may be replaced (output.ts). */
  readonly guard: OutputGuard;
  readonly reporter: Reporter;
  readonly signal: AbortSignal;
}

export type Sink = Pick<OvaFileSink, 'write'>;

/** Streams one file's bytes into `sink`; returns bytes written and, for VMDK, the populated (non-zero grain) bytes. */
export async function streamDisk(d: PackageDisk, sink: Sink, input: PackageInput): Promise<{ populatedBytes?: number }> {
  const { reporter, signal, opts } = input;
  const { href, source, format, info, adapter } = d.image;
  const progress = (done: number, total: number) => reporter.emit({ kind: 'progress', task: 'convert', name: href, bytesDone: done, bytesTotal: total });
  if (format === 'vmdk' && d.disk.device === 'disk') {
    const guest = source.stream ? await source.stream.pass() : undefined;
    const r = await writeStreamOptimized({ source: { ...source, ...(info ? { info } : {}), ...(guest ? { guest } : {}) }, write: (c) => sink.write(c), level: opts.compressLevel, fileName: href, adapter, onProgress: progress, signal });
    return { populatedBytes: r.populatedBytes };
  }
  let path = source.path;
  if (source.stream) {
    // A volume on another host: its guest bytes through libvirt streams, into a local file of the format.
    path = join(input.workDir, `convert-${href}`);
    await copyStreamed(source.stream, path, format as 'qcow2' | 'raw', progress, signal);
  } else if (!(source.local && source.format === 'raw' && format === 'raw')) {
    // Only a local raw image is the guest's bytes as is; anything else (qcow2, a backing chain,
    // a network disk, a byte range) is read as served (disks.ts) by qemu-img, which writes a seekable file.
    path = join(input.workDir, `convert-${href}`);
    await convertImage({ src: source.image, target: path, targetFormat: format as 'qcow2' | 'raw', existingTarget: false, signal, onProgress: (pct) => progress(pct, 100) });
  }
  try {
    const total = (await stat(path)).size;
    let done = 0;
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20, signal })) {
      await sink.write(chunk as Buffer);
      done += (chunk as Buffer).length;
      progress(done, total);
    }
  } finally {
    if (path !== source.path) await rm(path, { force: true });
  }
  return {};
}

/** The descriptor with the real file sizes and populated sizes filled in. */
export function finalEnvelope(env: EnvelopeInput, sizes: Map<string, number>, populated: Map<string, number>): EnvelopeInput {
  const idToHref = new Map(env.references.map((f) => [f.id, f.href] as const));
  return {
    ...env,
    references: env.references.map((f) => ({ ...f, sizeBytes: sizes.get(f.href)! })),
    disks: env.disks.map((d) => {
      const href = d.fileRef !== undefined ? idToHref.get(d.fileRef) : undefined;
      const p = href !== undefined ? populated.get(href) : undefined;
      return p !== undefined ? { ...d, populatedSizeBytes: p } : d;
    }),
  };
}

