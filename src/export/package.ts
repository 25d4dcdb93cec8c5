// Writes an OVF package: an OVA streamed through reserved OVF/manifest/cert regions, or an OVF directory.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatManifest, manifestSize, type DigestAlgorithm } from '../archive/manifest.js';
import type { ExportedFile } from '../mapping/reverse.js';
import type { OvfRules } from '../mapping/schema/domain.js';
import type { EnvelopeInput } from '../ovf/model.js';
import { padDescriptor, writeEnvelope } from '../ovf/write.js';
import type { Reporter } from '../report.js';
import { convertImage } from '../storage/qemu-img.js';
import type { ExportDisk } from './disks.js';
import { createOvaWriter, type OvaFileSink } from './ova-writer.js';
import { certificateSize, signManifest } from './sign.js';
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

/** One file of the package: an exported drive's record with its References File (href). */
export type PackageDisk = ExportedFile<ExportDisk>;

interface PackageInput {
  readonly opts: PackageOptions;
  readonly name: string;
  readonly envelope: EnvelopeInput;
  /** domain.json "ovf" rules for writeEnvelope. */
  readonly ovfRules: OvfRules;
  /** reverse mapping's files, in References order. */
  readonly disks: readonly PackageDisk[];
  readonly workDir: string;
  readonly reporter: Reporter;
  readonly signal: AbortSignal;
}

type Sink = Pick<OvaFileSink, 'write'>;

/** Streams one file's bytes into `sink`; returns bytes written and, for VMDK, the populated (non-zero grain) bytes. */
async function streamDisk(d: PackageDisk, sink: Sink, input: PackageInput): Promise<{ populatedBytes?: number }> {
  const { reporter, signal, opts } = input;
  const { href, source, format, info, adapterType } = d.image;
  const progress = (done: number, total: number) => reporter.emit({ kind: 'progress', task: 'convert', name: href, bytesDone: done, bytesTotal: total });
  if (format === 'vmdk' && d.disk.device === 'disk') {
    const r = await writeStreamOptimized({ source: { ...source, ...(info ? { info } : {}) }, write: (c) => sink.write(c), level: opts.compressLevel, fileName: href, adapterType, onProgress: progress, signal });
    return { populatedBytes: r.populatedBytes };
  }
  let path = source.path;
  if (d.disk.device === 'disk' && !(format === 'raw' && source.format === 'raw')) {
    // qcow2 (or raw from another format) needs qemu-img, which writes a seekable file.
    path = join(input.workDir, `convert-${href}`);
    await convertImage({ src: { path: source.path, offset: 0, size: (await stat(source.path)).size, format: source.format, wholeFile: true, label: `"${source.path}"` }, target: path, targetFormat: format as 'qcow2' | 'raw', existingTarget: false, signal, onProgress: (pct) => progress(pct, 100) });
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
function finalEnvelope(env: EnvelopeInput, sizes: Map<string, number>, populated: Map<string, number>): EnvelopeInput {
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

/**
 * Writes the package. OVA: the OVF first, then the manifest, the certificate, and the disks
 * in References order; the OVF, manifest and certificate regions are reserved up front and
 * filled at the end, so nothing is written twice and no temporary copy is made of VMDK or
 * ISO data; every member is hashed while it is written. Directory: the same files side by side.
 * @throws UsageError for an unusable output path or signing key; ToolError from qemu-img.
 */
export async function writePackage(input: PackageInput): Promise<{ output: string; kind: 'ova' | 'directory'; files: { name: string; sizeBytes: number; digest?: string }[] }> {
  const { opts, name, disks, reporter } = input;
  const alg = opts.manifest === 'none' ? undefined : opts.manifest;
  const ovfName = `${name}.ovf`;
  const mfName = `${name}.mf`;
  const certName = `${name}.cert`;
  const sizes = new Map<string, number>();
  const populated = new Map<string, number>();
  const digests = new Map<string, string>();
  const isDir = opts.output.endsWith('/') || (await stat(opts.output).then((s) => s.isDirectory(), () => false));
  if (isDir) {
    const dir = opts.output.replace(/\/+$/, '');
    await mkdir(dir, { recursive: true });
    const created: string[] = [];
    try {
      for (const d of disks) {
        reporter.emit({ kind: 'stage', message: `Writing ${d.image.href}` });
        const path = join(dir, d.image.href);
        const fh = await open(path, 'wx');
        created.push(path);
        const hash = alg ? createHash(alg) : undefined;
        let size = 0;
        try {
          const r = await streamDisk(d, { write: async (c) => { hash?.update(c); size += c.length; await fh.write(c); } }, input);
          if (r.populatedBytes !== undefined) populated.set(d.image.href, r.populatedBytes);
        } finally {
          await fh.close();
        }
        sizes.set(d.image.href, size);
        if (hash) digests.set(d.image.href, hash.digest('hex'));
      }
      const ovf = Buffer.from(writeEnvelope(finalEnvelope(input.envelope, sizes, populated), { version: opts.ovfVersion, rules: input.ovfRules }));
      const files: { name: string; content: Buffer }[] = [{ name: ovfName, content: ovf }];
      if (alg) {
        digests.set(ovfName, createHash(alg).update(ovf).digest('hex'));
        const mf = formatManifest(alg, [ovfName, ...disks.map((d) => d.image.href)].map((n) => ({ name: n, digest: digests.get(n)! })));
        files.push({ name: mfName, content: mf });
        if (opts.signKey) files.push({ name: certName, content: signManifest(mf, mfName, opts.signKey, opts.signCert!, alg) });
      }
      for (const f of files) {
        await writeFile(join(dir, f.name), f.content, { flag: 'wx' });
        created.push(join(dir, f.name));
      }
      return { output: dir, kind: 'directory', files: [...files.map((f) => ({ name: f.name, sizeBytes: f.content.length })), ...disks.map((d) => ({ name: d.image.href, sizeBytes: sizes.get(d.image.href)!, ...(digests.has(d.image.href) ? { digest: digests.get(d.image.href)! } : {}) }))] };
    } catch (err) {
      for (const path of created) await rm(path, { force: true });
      throw err;
    }
  }
  const writer = await createOvaWriter(opts.output, { digest: alg ?? 'none' });
  try {
    const placeholder = writeEnvelope(input.envelope, { version: opts.ovfVersion, placeholders: true, rules: input.ovfRules });
    const ovfBytes = Buffer.byteLength(placeholder) + 1024;
    await writer.reserve(ovfName, ovfBytes);
    if (alg) await writer.reserve(mfName, manifestSize(alg, [ovfName, ...disks.map((d) => d.image.href)]));
    const certBytes = opts.signKey && alg ? certificateSize(mfName, opts.signKey, opts.signCert!, alg) : 0;
    if (certBytes > 0) await writer.reserve(certName, certBytes);
    for (const [i, d] of disks.entries()) {
      reporter.emit({ kind: 'stage', message: `Writing ${d.disk.device} ${i + 1}/${disks.length}: ${d.image.href} (${d.image.format}) from ${d.image.source.path}` });
      const sink = writer.beginFile(d.image.href);
      const r = await streamDisk(d, sink, input);
      const end = await sink.end();
      reporter.emit({ kind: 'progress-end', task: 'convert', name: d.image.href });
      sizes.set(d.image.href, end.size);
      digests.set(d.image.href, end.digest);
      if (r.populatedBytes !== undefined) populated.set(d.image.href, r.populatedBytes);
    }
    const ovf = await writer.fill(ovfName, padDescriptor(writeEnvelope(finalEnvelope(input.envelope, sizes, populated), { version: opts.ovfVersion, rules: input.ovfRules }), ovfBytes));
    digests.set(ovfName, ovf.digest);
    const files = [{ name: ovfName, sizeBytes: ovfBytes, digest: ovf.digest }];
    if (alg) {
      const mf = formatManifest(alg, [ovfName, ...disks.map((d) => d.image.href)].map((n) => ({ name: n, digest: digests.get(n)! })));
      await writer.fill(mfName, mf);
      files.push({ name: mfName, sizeBytes: mf.length, digest: '' });
      if (certBytes > 0) {
        await writer.fill(certName, signManifest(mf, mfName, opts.signKey!, opts.signCert!, alg, certBytes));
        files.push({ name: certName, sizeBytes: certBytes, digest: '' });
      }
    }
    await writer.finish();
    return { output: opts.output, kind: 'ova', files: [...files, ...disks.map((d) => ({ name: d.image.href, sizeBytes: sizes.get(d.image.href)!, digest: digests.get(d.image.href)! }))] };
  } catch (err) {
    await writer.abort();
    throw err;
  }
}
