// Manifest verification for an import, run alongside the disk conversions (DSP0243 5.1).
import { findManifest, parseManifest, verifyEntry } from '../archive/manifest.js';
import type { Reporter } from '../report.js';
import type { ImportPlan } from './plan.js';

/**
 * Verifies every file the manifest lists, one after another, reading exactly the bytes the
 * import uses (the same OVA member range or file). Runs concurrently with the conversions;
 * the import awaits it before defining the domain.
 * @returns a promise that rejects with ManifestError on a malformed manifest or a digest
 *   mismatch, PackageError when a listed file is absent, or the signal's reason when aborted.
 */
export async function startVerification(plan: ImportPlan, opts: { verify: boolean; reporter: Reporter; signal: AbortSignal }): Promise<void> {
  const { reporter } = opts;
  if (!opts.verify) {
    reporter.emit({ kind: 'warning', message: '--no-verify: the manifest is not checked; the package may be corrupt or tampered with' });
    return;
  }
  const mf = findManifest(plan.archive);
  if (mf === undefined) {
    reporter.emit({ kind: 'info', message: `${plan.archive.source}: no manifest (.mf); file digests are not checked` });
    return;
  }
  const entries = parseManifest((await plan.archive.readSmall(mf)).toString('utf8'), mf);
  for (const entry of entries) {
    const size = plan.archive.find(entry.name)?.size ?? 0;
    await verifyEntry(plan.archive, entry, (done) => reporter.emit({ kind: 'progress', task: 'verify', name: entry.name, bytesDone: done, bytesTotal: size }), opts.signal);
    reporter.emit({ kind: 'progress-end', task: 'verify', name: entry.name });
  }
  reporter.emit({ kind: 'stage', message: `Manifest ${mf}: ${entries.length} file(s) verified` });
}
