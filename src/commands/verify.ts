// Package integrity for an import: manifest coverage and digests (DSP0243 5.1), certificate (5.2).
import { verifyCertificate, type SignatureReport } from '../archive/certificate.js';
import { checkManifestCoverage, findManifest, parseManifest, verifyEntry } from '../archive/manifest.js';
import { chunkNames } from '../storage/sources.js';
import { PackageError } from '../errors.js';
import type { Reporter } from '../report.js';
import type { ImportPlan } from './plan.js';

/** The package files an import reads: the descriptor, and every disk or ISO file (each chunk of a chunked one). */
export function usedFiles(plan: ImportPlan): string[] {
  const names = [plan.archive.descriptorName];
  for (const d of plan.disks) {
    if (!d.file) continue;
    names.push(...(d.file.chunkSizeBytes !== undefined ? chunkNames(plan.archive, d.file.href) : [d.file.href]));
  }
  return names;
}

/**
 * Checks the package's signature (.cert) when there is one: a bad signature always fails;
 * an expired, not yet valid, self-signed or untrusted certificate is a warning, or an error
 * with `requireSignature` (which also fails a package that has no .cert).
 * @throws ManifestError for a bad signature; PackageError under requireSignature; UsageError for an unreadable --ca.
 */
export async function checkSignature(plan: ImportPlan, opts: { caFile?: string; requireSignature?: boolean; reporter: Reporter }): Promise<SignatureReport | undefined> {
  const report = await verifyCertificate(plan.archive, opts.caFile !== undefined ? { caFile: opts.caFile } : {});
  if (!report) {
    if (opts.requireSignature) throw new PackageError(`${plan.archive.source}: --require-signature: the package is not signed (no .cert)`, { file: plan.archive.source });
    return undefined;
  }
  opts.reporter.emit({ kind: 'stage', message: `Signature of ${report.manifestName} is valid: signed by ${report.signer} (issuer ${report.issuer})` });
  if (report.problems.length > 0) {
    const why = `${report.certificateName}: ${report.problems.join('; ')}`;
    if (opts.requireSignature) throw new PackageError(`--require-signature: ${why}`, { file: report.certificateName });
    opts.reporter.emit({ kind: 'warning', message: why });
  }
  return report;
}

/**
 * Verifies the manifest: every file the import uses must be listed (ManifestError otherwise),
 * and every listed file is hashed in one pass over exactly the bytes the import reads (the same
 * OVA member range or file). Runs concurrently with the conversions; the import awaits it
 * before defining the domain.
 * @returns a promise that rejects with ManifestError on a malformed manifest, an unlisted file
 *   or a digest mismatch, PackageError when a listed file is absent, or the signal's reason when aborted.
 */
export async function startVerification(plan: ImportPlan, opts: { verify: boolean; reporter: Reporter; signal: AbortSignal }): Promise<void> {
  const { reporter } = opts;
  if (!opts.verify) {
    reporter.emit({ kind: 'warning', message: '--no-verify: the manifest and signature are not checked; the package may be corrupt or tampered with' });
    return;
  }
  const mf = findManifest(plan.archive);
  if (mf === undefined) {
    reporter.emit({ kind: 'info', message: `${plan.archive.source}: no manifest (.mf); file digests are not checked` });
    return;
  }
  const entries = parseManifest((await plan.archive.readSmall(mf)).toString('utf8'), mf);
  checkManifestCoverage(entries, usedFiles(plan), mf);
  for (const entry of entries) {
    const size = plan.archive.find(entry.name)?.size ?? 0;
    await verifyEntry(plan.archive, entry, (done) => reporter.emit({ kind: 'progress', task: 'verify', name: entry.name, bytesDone: done, bytesTotal: size }), opts.signal);
    reporter.emit({ kind: 'progress-end', task: 'verify', name: entry.name });
  }
  reporter.emit({ kind: 'stage', message: `Manifest ${mf}: ${entries.length} file(s) verified` });
}
