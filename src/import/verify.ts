// Package integrity for an import: manifest coverage and digests (DSP0243 5.1), certificate (5.2).
import { verifyCertificate, type SignatureReport } from '../archive/certificate.js';
import { checkDigest, checkManifestCoverage, extraDigestLists, fileNamedAfter, findManifest, parseManifest, verifyEntry, type DigestAlgorithm, type ManifestEntry } from '../archive/manifest.js';
import { PackageError } from '../errors.js';
import type { Reporter } from '../report.js';
import { StreamedDigests } from './digests.js';
import type { ImportPlan } from './plan.js';
import type { TargetedDrive } from './targets.js';

/** The package files an import reads: the descriptor, and every drive's file (each chunk of a chunked one). */
export function usedFiles(plan: ImportPlan): string[] {
  const names = [plan.archive.descriptorName];
  for (const d of plan.drives) if (d.kind === 'file') names.push(...d.stored.parts.map((p) => p.name));
  return names;
}

/**
 * Checks the package's signature (.cert) when there is one: a bad signature always fails;
 * an expired, not yet valid, self-signed or untrusted certificate is a warning, or an error
 * with `requireSignature` (which also fails a package that has no .cert).
 * @throws ManifestError for a bad signature; PackageError (option `requireSignature`) when a
 *   required signature is missing or not trusted; UsageError for an unreadable caFile.
 */
export async function checkSignature(plan: ImportPlan, opts: { caFile?: string; requireSignature?: boolean; reporter: Reporter }): Promise<SignatureReport | undefined> {
  const report = await verifyCertificate(plan.archive, opts.caFile !== undefined ? { caFile: opts.caFile } : {});
  const option = 'requireSignature';
  if (!report) {
    if (opts.requireSignature) throw new PackageError(`${plan.archive.source}: the package is not signed (no .cert), and a signature is required`, { file: plan.archive.source, option });
    return undefined;
  }
  opts.reporter.emit({ kind: 'stage', message: `Signature of ${report.manifestName} is valid: signed by ${report.signer} (issuer ${report.issuer})` });
  if (report.problems.length > 0) {
    const why = `${report.certificateName}: ${report.problems.join('; ')}`;
    if (opts.requireSignature) throw new PackageError(`${why}; a trusted signature is required`, { file: report.certificateName, option });
    opts.reporter.emit({ kind: 'warning', message: why });
  }
  return report;
}

/**
 * Verifies the manifest: every file the import uses must be listed (ManifestError otherwise),
 * and every listed file is hashed in one pass over exactly the bytes the import reads (the same
 * OVA member range or file). The import runs it alongside the conversions and defines the
 * domain only once it has succeeded.
 * @throws ManifestError on a malformed manifest, an unlisted file or a digest mismatch,
 *   PackageError when a listed file is absent, or the signal's reason when aborted.
 */
export async function verifyManifest(plan: ImportPlan, opts: { verify: boolean; reporter: Reporter; digests?: StreamedDigests }, signal: AbortSignal): Promise<void> {
  const { reporter } = opts;
  if (!opts.verify) {
    reporter.emit({ kind: 'warning', message: 'verification is off: the manifest and signature are not checked; the package may be corrupt or tampered with' });
    return;
  }
  const mf = findManifest(plan.archive);
  const extra = extraDigestLists(plan.archive, mf);
  if (mf === undefined && extra.length === 0) {
    reporter.emit({ kind: 'info', message: `${plan.archive.source}: no manifest (.mf); file digests are not checked` });
    return;
  }
  if (mf !== undefined) {
    const entries = parseManifest((await plan.archive.readSmall(mf)).toString('utf8'), mf);
    checkManifestCoverage(entries, usedFiles(plan), mf);
    reporter.emit({ kind: 'stage', message: `Verifying manifest ${mf}: ${entries.length} file(s)` });
    await verifyEntries(plan, entries, reporter, signal, opts.digests);
    reporter.emit({ kind: 'stage', message: `Manifest ${mf}: ${entries.length} file(s) verified` });
  } else {
    reporter.emit({ kind: 'info', message: `${plan.archive.source}: no manifest named after ${plan.archive.descriptorName}; the descriptor's digest is not checked` });
  }
  // A digest list named after one file (disk1.mf) is not the package's manifest: its digests are
  // checked, but it need not list the descriptor (virt-v2v reads every .mf this way).
  for (const list of extra) {
    const entries = parseManifest((await plan.archive.readSmall(list)).toString('utf8'), list).filter((e) => plan.archive.find(e.name) !== undefined);
    reporter.emit({ kind: 'stage', message: `Verifying ${list}, the digest list of ${fileNamedAfter(plan.archive, list)} (not the package's manifest): ${entries.length} file(s)` });
    await verifyEntries(plan, entries, reporter, signal, opts.digests);
  }
}

/**
 * Hashes each listed file once over the bytes the import reads, with progress events; a member
 * the conversion reads as a stream is judged by the digest it computed on the way (`digests`),
 * so it is read once in all.
 */
async function verifyEntries(plan: ImportPlan, entries: readonly ManifestEntry[], reporter: Reporter, signal: AbortSignal, digests: StreamedDigests | undefined): Promise<void> {
  for (const entry of entries) {
    const size = plan.archive.find(entry.name)?.size ?? 0;
    const streamed = digests?.expects(entry.name) ? await digests.result(entry.name, signal) : undefined;
    if (streamed) {
      checkDigest(entry, size, streamed.bytes, streamed.hex.get(entry.algorithm)!);
      continue;
    }
    await verifyEntry(plan.archive, entry, (done) => reporter.emit({ kind: 'progress', task: 'verify', name: entry.name, bytesDone: done, bytesTotal: size }), signal).finally(() =>
      reporter.emit({ kind: 'progress-end', task: 'verify', name: entry.name }),
    );
  }
}

/**
 * The digests the conversion computes while it reads the members of `drives` (single pass):
 * one per member the manifest and the extra digest lists check, with their algorithms.
 * Undefined when verification is off or there is nothing to check; a manifest that does not
 * parse gives none here (verifyManifest reports it).
 */
export async function streamedDigests(plan: ImportPlan, drives: readonly TargetedDrive[], verify: boolean): Promise<StreamedDigests | undefined> {
  if (!verify) return undefined;
  const mf = findManifest(plan.archive);
  const lists = [...(mf !== undefined ? [mf] : []), ...extraDigestLists(plan.archive, mf)];
  const wanted = new Map<string, Set<DigestAlgorithm>>();
  try {
    for (const list of lists) {
      for (const e of parseManifest((await plan.archive.readSmall(list)).toString('utf8'), list)) wanted.set(e.name, (wanted.get(e.name) ?? new Set()).add(e.algorithm));
    }
  } catch {
    return undefined;
  }
  if (wanted.size === 0) return undefined;
  const decided = drives.flatMap((d) => (d.kind === 'file' && d.target ? d.stored.parts.map((p) => p.name) : []));
  return new StreamedDigests(wanted, decided);
}
