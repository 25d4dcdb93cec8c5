// Writes an OVF package: an OVA streamed through reserved OVF/manifest/cert regions, or an OVF
// directory (directory.ts); either way nothing takes an existing file's place unless the output
// guard allows it (output.ts).
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { formatManifest, manifestSize } from '../archive/manifest.js';
import { padDescriptor, writeEnvelope } from '../ovf/write.js';
import { writeDirectory } from './directory.js';
import { finalEnvelope, streamDisk, type PackageInput, type PackageOptions, type WrittenFile } from './members.js';
import { createOvaWriter } from './ova-writer.js';
import { certificateSize, signManifest } from './sign.js';

export type { PackageDisk, PackageInput, PackageOptions, WrittenFile } from './members.js';

/** Where a package goes: an OVA or a directory, and the path of every file export creates there. */
export interface PackageLayout {
  readonly kind: 'ova' | 'directory';
  /** The OVA, or the directory (without a trailing slash). */
  readonly output: string;
  /** The package's file names: descriptor, manifest, certificate. */
  readonly names: { readonly ovf: string; readonly mf: string; readonly cert: string };
  /** Every path the export creates: the OVA; or, in the directory, the OVF, the manifest and certificate when written, and `hrefs`. */
  readonly paths: readonly string[];
}

/**
 * The layout of the package of domain `name` (made safe) with the package files `hrefs`:
 * a directory when the output ends in `/` or is an existing directory, else an OVA.
 */
export async function packageLayout(opts: PackageOptions, name: string, hrefs: readonly string[]): Promise<PackageLayout> {
  const names = { ovf: `${name}.ovf`, mf: `${name}.mf`, cert: `${name}.cert` };
  const isDir = opts.output.endsWith('/') || (await stat(opts.output).then((s) => s.isDirectory(), () => false));
  if (!isDir) return { kind: 'ova', output: opts.output, names, paths: [opts.output] };
  const dir = opts.output.replace(/\/+$/, '') || '/';
  const signed = opts.manifest !== 'none' && opts.signKey !== undefined;
  const files = [names.ovf, ...(opts.manifest !== 'none' ? [names.mf] : []), ...(signed ? [names.cert] : []), ...hrefs];
  return { kind: 'directory', output: dir, names, paths: files.map((f) => join(dir, f)) };
}

/**
 * Writes the package. OVA: the OVF first, then the manifest, the certificate, and the disks
 * in References order; the OVF, manifest and certificate regions are reserved up front and
 * filled at the end, so nothing is written twice and no temporary copy is made of VMDK or
 * ISO data; every member is hashed while it is written. Directory: the same files side by side
 * (directory.ts). Every path is first checked by the guard (an existing one is refused unless
 * forced, a held one always), and the finished files are moved into place by it.
 * @throws UsageError for an existing or held output path or an unusable signing key;
 *   PackageError when a file cannot be written; ToolError from qemu-img.
 */
export async function writePackage(input: PackageInput): Promise<{ output: string; kind: 'ova' | 'directory'; files: WrittenFile[] }> {
  const { opts, name, disks, reporter } = input;
  const layout = await packageLayout(opts, name, disks.map((d) => d.image.href));
  await input.guard.check(layout.paths);
  if (layout.kind === 'directory') return { output: layout.output, kind: 'directory', files: await writeDirectory(input, layout.output, layout.names) };
  const alg = opts.manifest === 'none' ? undefined : opts.manifest;
  const { ovf: ovfName, mf: mfName, cert: certName } = layout.names;
  const sizes = new Map<string, number>();
  const populated = new Map<string, number>();
  const digests = new Map<string, string>();
  const writer = await createOvaWriter(opts.output, { digest: alg ?? 'none', guard: input.guard });
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
      const r = await streamDisk(d, sink, input).finally(() => reporter.emit({ kind: 'progress-end', task: 'convert', name: d.image.href }));
      const end = await sink.end();
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
