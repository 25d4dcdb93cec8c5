// Step 5 of the one-pass import: the members as they stream by — each disk converted as it passes
// (chunks joined in order), the manifest and certificate kept, the rest drained; every member
// hashed; at the end, the files that never came refused and the manifest and signature checked.
import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import { chunkName } from '../archive/chunks.js';
import { extraDigestLists, findManifest } from '../archive/manifest.js';
import { describeMissing } from '../archive/policy.js';
import type { StreamArchive, StreamPackage } from '../archive/stream-package.js';
import { PackageError } from '../errors.js';
import type { FileDrive } from '../mapping/drives.js';
import type { Reporter } from '../report.js';
import type { Rollback } from '../rollback.js';
import { readMember, type StreamMember } from '../source/sequential-reader.js';
import type { TransferChoice } from '../transfer/choose.js';
import { convertDrive, type ConvertContext, type CreatedVolume } from './convert.js';
import { tempDirOf, type ResolvedImportOptions } from './options.js';
import type { ImportPlan } from './plan.js';
import type { StreamDigests } from './sequential-digests.js';
import type { ConvertedDrive, DomainDraft } from './steps.js';
import type { DriveTarget, TargetedDrive } from './targets.js';
import { checkSignature, usedFiles } from './verify.js';
import type { TargetStore } from '../storage/volumes.js';

/** Everything the member loop needs. */
export interface FillContext {
  readonly plan: ImportPlan;
  readonly draft: DomainDraft & { readonly store: TargetStore; readonly transfer: TransferChoice };
  readonly opts: ResolvedImportOptions;
  readonly reporter: Reporter;
  readonly rollback: Rollback;
  readonly signal: AbortSignal;
  readonly pkg: StreamPackage;
  readonly archive: StreamArchive;
  readonly digests: StreamDigests;
}

type Targeted = TargetedDrive & { readonly target: DriveTarget };

/** A disk whose stored bytes are being fed to its conversion: the joined input (chunks) and the next part expected. */
interface Feed {
  readonly drive: Targeted & FileDrive;
  readonly input: PassThrough;
  next: number;
  ended: boolean;
}

/** Largest manifest or certificate kept from the stream, in bytes (as Archive.readSmall). */
const MAX_COMPANION_BYTES = 16 * 1024 * 1024;

/**
 * Reads the rest of the package (the descriptor has been read) and fills every target. Disks are
 * converted by convertDrive with the member's bytes as input, while the next members are read
 * once the current one has been consumed; parts of an ovf:chunkSize file must come in order.
 * @returns the drives, in the draft's order, with their volumes.
 * @throws PackageError for a chunk out of order, a referenced file that never came, or what the
 *   reader throws; ManifestError for a digest or coverage failure; what convertDrive throws.
 */
export async function streamMembers(c: FillContext): Promise<ConvertedDrive[]> {
  const failed = new AbortController();
  const volumes = new Map<TargetedDrive, Promise<CreatedVolume>>();
  const inputs: Readable[] = [];
  try {
    return await fillAll(c, failed, volumes, inputs);
  } catch (err) {
    // No conversion may outlive the failure: each is stopped (its input fails, so one waiting for
    // bytes that will not come wakes up) and settles, its volume registered with the rollback, first.
    if (!failed.signal.aborted) failed.abort(err);
    for (const input of inputs) input.destroy(err as Error);
    await Promise.allSettled(volumes.values());
    throw err;
  }
}

/** The member loop of {@link streamMembers}; `volumes` receives each conversion as it starts. */
async function fillAll(c: FillContext, failed: AbortController, volumes: Map<TargetedDrive, Promise<CreatedVolume>>, inputs: Readable[]): Promise<ConvertedDrive[]> {
  const signal = AbortSignal.any([c.signal, failed.signal]);
  // A read waiting on a stalled source (a pipe that sends nothing more) ends with the abort.
  signal.addEventListener('abort', () => c.pkg.abort(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason))), { once: true });
  const ctx: ConvertContext = { archive: c.plan.archive, store: c.draft.store, rollback: c.rollback, reporter: c.reporter, signal, tempDir: tempDirOf(c.opts), converter: c.opts.converter ?? 'auto', transfer: c.draft.transfer };
  const owners = partOwners(c.draft.drives);
  const feeds = new Map<Targeted, Feed>();
  const failure = new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
  failure.catch(() => undefined);
  const start = (drive: Targeted, input?: Readable): void => {
    const what = input ? `Converting ${drive.placed.device} (${(drive as FileDrive).file.href}, ${(drive as FileDrive).format}) as it streams by` : drive.kind === 'generated' ? 'Writing the OVF environment CD-ROM' : `Creating empty ${drive.placed.device}`;
    c.reporter.emit({ kind: 'stage', message: `${what} to ${drive.target.name}` });
    if (input) inputs.push(input);
    const p = convertDrive(drive, ctx, input);
    p.catch((err: unknown) => failed.abort(err));
    volumes.set(drive, p);
  };
  for await (const m of c.pkg.members) {
    signal.throwIfAborted();
    c.archive.noteMember(m.name, m.size);
    const owner = owners.get(m.name);
    if (owner) {
      await feed(m, owner, feeds, start, failure);
      // The conversion reads the body; the next member starts once it is through.
      await Promise.race([m.settled, failure]);
    } else if (isCompanion(m.name)) await keepCompanion(m, c);
    // What nobody read (a member the descriptor does not reference) is read here, through the digests.
    await m.drain();
    c.digests.checkMember(m.name);
  }
  for (const f of feeds.values()) if (!f.ended) endFeed(f);
  for (const d of c.draft.drives) {
    if (d.target && d.kind === 'file' && !volumes.has(d)) {
      const first = d.stored.chunked ? chunkName(d.file.href, 0) : d.file.href;
      throw new PackageError(`${describeMissing(c.archive, first)}: the descriptor references it, but the package ended without it`, { file: d.file.href });
    }
  }
  for (const d of c.draft.drives) if (d.target && d.kind !== 'file') start(d as Targeted);
  const converted: ConvertedDrive[] = [];
  for (const d of c.draft.drives) {
    const volume = volumes.get(d);
    converted.push(volume ? { ...d, volume: await Promise.race([volume, failure]) } : d);
  }
  await checkIntegrity(c);
  return converted;
}

/** The drive (and part number) each stored part belongs to: `href`, or `href.000000000`, … for a chunked file. */
function partOwners(drives: readonly TargetedDrive[]): Map<string, { drive: Targeted & FileDrive; part: number }> {
  const owners = new Map<string, { drive: Targeted & FileDrive; part: number }>();
  for (const d of drives) {
    if (!d.target || d.kind !== 'file') continue;
    const drive = d as Targeted & FileDrive;
    if (!d.stored.chunked) owners.set(d.file.href, { drive, part: 0 });
    // Chunks past the declared ones are still the file's: a part shorter than ovf:chunkSize ends it.
    else for (let i = 0; i < Math.max(d.stored.parts.length, 1) + 1024; i++) owners.set(chunkName(d.file.href, i), { drive, part: i });
  }
  return owners;
}

/** Feeds a disk's member (or one of its chunks) to its conversion, starting it at the first part. */
async function feed(m: StreamMember, owner: { drive: Targeted & FileDrive; part: number }, feeds: Map<Targeted, Feed>, start: (d: Targeted, input: Readable) => void, failure: Promise<never>): Promise<void> {
  const { drive, part } = owner;
  if (!drive.stored.chunked) return start(drive, m.body);
  let f = feeds.get(drive);
  if (!f) {
    f = { drive, input: new PassThrough({ highWaterMark: 1024 * 1024 }), next: 0, ended: false };
    feeds.set(drive, f);
    start(drive, f.input);
  }
  if (f.ended || part !== f.next) {
    throw new PackageError(`File "${drive.file.href}": chunk ${m.rawName} comes ${f.ended ? 'after the file ended' : `where ${chunkName(drive.file.href, f.next)} was expected`}; the chunks of a file must follow each other in order in a package read in one pass`, { file: m.rawName });
  }
  f.next++;
  for await (const chunk of m.body) {
    if (!f.input.write(chunk)) await Promise.race([once(f.input, 'drain'), failure]);
  }
  const chunkSize = drive.file.chunkSizeBytes ?? 0;
  if (m.size < chunkSize || (drive.stored.parts.length > 1 && f.next >= drive.stored.parts.length)) endFeed(f);
}

/** Ends a chunked file's joined input. */
function endFeed(f: Feed): void {
  f.ended = true;
  f.input.end();
}

/** True for a top-level `.mf` or `.cert` member (manifest, digest list, certificate: DSP0243 5.1, 5.2). */
function isCompanion(name: string): boolean {
  return !name.includes('/') && /\.(mf|cert)$/i.test(name);
}

/** Keeps a manifest or certificate in memory for the end checks; a manifest named after the descriptor takes effect at once. */
async function keepCompanion(m: StreamMember, c: FillContext): Promise<void> {
  if (m.size > MAX_COMPANION_BYTES) throw new PackageError(`${m.name} is ${m.size} bytes, larger than the ${MAX_COMPANION_BYTES}-byte limit for this kind of file`, { file: m.name });
  const data = await readMember(m);
  c.archive.noteMember(m.name, m.size, data);
  const descriptorMf = c.archive.descriptorName.replace(/\.ovf$/i, '.mf');
  if (c.opts.verify && m.name.toLowerCase() === descriptorMf.toLowerCase() && c.digests.entries === undefined) c.digests.setManifest(m.name, data.toString('utf8'));
}

/**
 * The end checks (verification on): the manifest lists every file used and every digest matches
 * (checked over the streamed bytes), digest lists named after one file match, then the signature
 * (checkSignature, as the indexed import does before converting).
 * @throws ManifestError / PackageError as verify.ts.
 */
async function checkIntegrity(c: FillContext): Promise<void> {
  const { reporter, archive, plan } = c;
  if (!c.opts.verify) {
    reporter.emit({ kind: 'warning', message: 'verification is off: the manifest and signature are not checked; the package may be corrupt or tampered with' });
    return;
  }
  const seen = new Set(archive.entries().filter((e) => archive.hasSeen(e.name)).map((e) => e.name));
  const mf = findManifest(archive);
  if (mf !== undefined) {
    if (c.digests.entries === undefined) c.digests.setManifest(mf, (await archive.readSmall(mf)).toString('utf8'));
    const n = c.digests.checkAll(usedFiles(plan), seen);
    reporter.emit({ kind: 'stage', message: `Manifest ${mf}: ${n} file(s) verified over the streamed bytes` });
  } else reporter.emit({ kind: 'info', message: `${archive.source}: no manifest (.mf); file digests are not checked` });
  for (const list of extraDigestLists(archive, mf)) {
    const n = c.digests.checkList(list, (await archive.readSmall(list)).toString('utf8'), seen);
    reporter.emit({ kind: 'stage', message: `${list}: ${n} file(s) verified` });
  }
  await checkSignature(plan, { reporter, ...(c.opts.caFile !== undefined ? { caFile: c.opts.caFile } : {}), ...(c.opts.requireSignature ? { requireSignature: true } : {}) });
}
