// The one-pass import: a package from standard input, a compressed OVA or an HTTP body without
// ranges, read front to back once. The descriptor comes first (DSP0243 5.3), then the import is
// planned and checked as usual (steps.ts), and each disk is converted as its member streams by.
import type { Readable } from 'node:stream';
import { parseEnvelope } from '../ovf/parse.js';
import { chunkName } from '../archive/chunks.js';
import { canonicalName } from '../archive/policy.js';
import { openSequentialInput, openStreamPackage, StreamArchive, type StreamPackage } from '../archive/stream-package.js';
import { PackageError } from '../errors.js';
import { silentReporter, type Reporter } from '../report.js';
import { readMember } from '../source/sequential-reader.js';
import type { ImportResult, PackageOptions, ResolvedImportOptions } from './options.js';
import { planArchive, type ImportPlan } from './plan.js';
import { StreamDigests } from './sequential-digests.js';
import { streamMembers } from './sequential-fill.js';
import { importPlanned, openPackage } from './steps.js';

/** Largest descriptor accepted, in bytes (as Archive.readDescriptor: 16 MiB). */
const MAX_DESCRIPTOR_BYTES = 16 * 1024 * 1024;

/**
 * Imports a package read in one pass (`opts.source` is `-` for standard input, or a compressed
 * local package; `input` gives the bytes instead, e.g. an HTTP body from a server without range
 * support). Steps as importPackage (import.ts): the descriptor must be the package's first
 * member; planning, drafting and the host checks are the same; the disks are converted as they
 * stream by, in whatever order they come, and digests are computed over the streamed bytes. A
 * manifest seen before a member is checked as that member passes; one that comes later is
 * checked at the end, and the signature (.cert) too; any failure rolls everything back.
 * printXml and dryRun read only the descriptor.
 * @throws UsageError when standard input is a terminal; PackageError (exit 3) when the first
 *   member is not the descriptor, for a hostile or truncated package, a corrupt compressed
 *   stream, a referenced file that never came, a delta disk (which needs random access);
 *   ManifestError as the indexed import; whatever importPackage throws otherwise.
 */
export async function importSequential(opts: ResolvedImportOptions, reporter: Reporter, input?: { input: Readable; totalBytes: number }): Promise<ImportResult> {
  const { input: bytes, totalBytes } = input ?? openSequentialInput(opts.source);
  const name = opts.source === '-' ? 'standard input' : opts.source;
  let told = 0;
  const progress = (done: number): void => {
    // A bar update every 4 MiB, and the last one.
    if (done - told < 4 * 2 ** 20 && done !== totalBytes) return;
    told = done;
    reporter.emit({ kind: 'progress', task: 'read', name, bytesDone: done, bytesTotal: totalBytes });
  };
  try {
    const { pkg, archive, digests } = await openSequential(bytes, opts.source, reporter, progress);
    const opened = await openPackage(opts, reporter, archive);
    checkStreamable(opened);
    for (const note of sequentialNotes(opened)) reporter.emit({ kind: 'info', message: note });
    return await importPlanned(opts, reporter, opened, {
      signature: 'after',
      fill: (plan, draft) => (rollback, signal) => streamMembers({ plan, draft, opts, reporter, rollback, signal, pkg, archive, digests }),
    });
  } finally {
    if (told > 0) reporter.emit({ kind: 'progress-end', task: 'read', name });
    bytes.destroy();
  }
}

/** The descriptor read from the front of a one-pass package, and what reads the rest. */
export interface OpenedSequential {
  readonly pkg: StreamPackage;
  readonly archive: StreamArchive;
  readonly digests: StreamDigests;
}

/**
 * Reads the first member of a one-pass package, which must be its OVF descriptor (DSP0243 5.3),
 * and builds the StreamArchive the planner reads (the descriptor's References taken as present).
 * @throws PackageError (file = `source`) when the package is empty, its first member is not a
 *   top-level `.ovf`, or the descriptor is larger than 16 MiB; what openStreamPackage throws.
 */
export async function openSequential(bytes: Readable, source: string, reporter: Reporter, onRead?: (bytes: number) => void): Promise<OpenedSequential> {
  const digests = new StreamDigests(source);
  const pkg = await openStreamPackage(bytes, source, (name) => digests.tap(name), onRead);
  reporter.emit({ kind: 'stage', message: `Reading ${source === '-' ? 'standard input' : source} in one pass (${pkg.packing === 'none' ? 'tar' : pkg.packing === 'zip' ? 'zip' : `${pkg.packing}-compressed tar`})` });
  const first = await pkg.members.next();
  const fail = (why: string): PackageError => new PackageError(`${source}: ${why}`, { file: source });
  if (first.done) throw fail('the package holds no file');
  const m = first.value;
  if (!/\.ovf$/i.test(m.name) || m.name.includes('/')) {
    throw fail(`the first file of the package is ${JSON.stringify(m.rawName)}, not the OVF descriptor; DSP0243 (section 5.3) requires the descriptor to be the first file of an OVA, and a package read in one pass (standard input, a compressed OVA, a server without range requests) depends on it`);
  }
  if (m.size > MAX_DESCRIPTOR_BYTES) throw fail(`the descriptor ${m.name} is ${m.size} bytes, larger than the ${MAX_DESCRIPTOR_BYTES}-byte limit`);
  const descriptor = await readMember(m);
  digests.checkMember(m.name);
  const envelope = parseEnvelope(descriptor, m.name, {});
  const declared = new Map<string, number | undefined>();
  for (const f of envelope.references) {
    const href = canonicalName(f.href);
    if (f.chunkSizeBytes === undefined) declared.set(href, f.sizeBytes);
    else {
      const count = f.sizeBytes !== undefined ? Math.max(1, Math.ceil(f.sizeBytes / f.chunkSizeBytes)) : 1;
      for (let i = 0; i < count; i++) declared.set(chunkName(href, i), undefined);
    }
  }
  return { pkg, archive: new StreamArchive(source, m.name, descriptor, declared), digests };
}

/**
 * Refuses what a one-pass read cannot import: a delta disk (ovf:parentRef), whose chain qemu-img
 * must open side by side from files.
 * @throws PackageError naming the Disk.
 */
function checkStreamable(plan: ImportPlan): void {
  for (const d of plan.drives) {
    if (d.kind === 'file' && d.parents.length > 0) {
      throw new PackageError(`${plan.archive.source}: Disk "${d.ovfDisk?.diskId ?? d.file.id}" is a delta disk (ovf:parentRef), which needs random access to its parents; import the package from a local uncompressed OVA or a URL with range support`, { file: d.file.href });
    }
  }
}

/**
 * inspect of a package read in one pass: reads only the descriptor (the first member), plans
 * with missing files as warnings, and stops reading. `input` gives the bytes instead of
 * `opts.source` (the body of a URL whose server ignores ranges: archive/archive.ts openSource).
 * @throws as openSequential and planImport.
 */
export async function planSequential(opts: PackageOptions, input?: Readable): Promise<ImportPlan> {
  const bytes = input ?? openSequentialInput(opts.source).input;
  try {
    const { archive } = await openSequential(bytes, opts.source, silentReporter());
    return await planArchive(archive, { ...opts, descriptorOnly: true });
  } finally {
    bytes.destroy();
  }
}

/**
 * What a one-pass read implies for this package, said before anything is read beyond the
 * descriptor: the signature is checked only at the end, and disks whose format needs random
 * access (SPILLED_FORMATS) go through a sparse temporary file, the only temporary bytes.
 */
export function sequentialNotes(plan: ImportPlan): string[] {
  const notes = [`${plan.archive.source} is read in one pass: the manifest and signature are checked as the members pass, and at the end before the domain is defined`];
  for (const d of plan.drives) {
    if (d.kind !== 'file' || d.format === undefined) continue;
    // A VMDK the descriptor declares streamOptimized (its ovf:format URI says so) streams.
    const declaredStreaming = d.format === 'vmdk' && /#streamOptimized$/i.test(d.ovfDisk?.format ?? '');
    const spill = declaredStreaming ? undefined : SPILLED_FORMATS[d.format];
    if (spill) notes.push(`File "${d.file.href}" (${d.format}) ${spill}: a sparse temporary file of up to ${d.capacityBytes || d.dataBytes} bytes in the temporary directory`);
  }
  return notes;
}

/**
 * Formats the streaming decoder cannot convert from a stream, with when they need a temporary
 * copy (issue 11: qcow2, VDI, VHD, VHDX and hosted sparse VMDK need random access; raw and
 * streamOptimized VMDK stream).
 */
const SPILLED_FORMATS: Readonly<Record<string, string | undefined>> = {
  qcow2: 'needs random access, so it is copied',
  vdi: 'needs random access, so it is copied',
  vpc: 'needs random access, so it is copied',
  vhdx: 'needs random access, so it is copied',
  vmdk: 'is copied unless its header says streamOptimized',
};
