// The import driver, top-down: usage checks, open package and plan, draft the domain, check host, convert and verify, define, start.
import { silentReporter, type Reporter } from '../report.js';
import { openSource } from '../archive/archive.js';
import type { Archive } from '../archive/model.js';
import { readingMode } from '../archive/stream-package.js';
import { isHttpUrl } from '../source/http-source.js';
import { convertDrive, type ConvertContext } from './convert.js';
import { checkUsage, sourceOptionsOf, tempDirOf, withDefaults, type ImportOptions, type ImportResult } from './options.js';
import type { ImportPlan } from './plan.js';
import { alongside } from '../rollback.js';
import { importSequential } from './sequential.js';
import { importPlanned, openPackage, type ConvertedDrive } from './steps.js';
import type { DriveTarget, TargetedDrive } from './targets.js';
import { streamedDigests, verifyManifest } from './verify.js';

/**
 * Imports an OVF package as a libvirt domain. printXml and dryRun follow the same path and stop
 * early: printXml once the XML is built, dryRun once the host has been checked. Everything the
 * import created (volumes, files, the domain) is removed again when a later step fails or the
 * import is aborted (`signal`, or SIGINT/SIGTERM with `handleSignals`); nothing that existed
 * before is touched.
 * @param reporter receives progress and warnings; default: one that only keeps the warnings.
 * @throws the VirtOvfError subclass matching the failure (see errors.ts; UsageError and
 *   LibvirtSetupError carry the `option` they concern), or the signal's reason when aborted.
 */
export async function importPackage(options: ImportOptions, reporter: Reporter = options.reporter ?? silentReporter()): Promise<ImportResult> {
  const opts = withDefaults(options);
  // 1. Usage: what the options alone decide.
  checkUsage(opts);
  // Standard input and compressed packages are read in one pass (sequential.ts).
  if ((await readingMode(opts.source)) === 'sequential') return importSequential(opts, reporter);
  // A URL is read by range requests; one whose server ignores ranges, or a compressed one, in one pass.
  let archive: Archive | undefined;
  if (isHttpUrl(opts.source)) {
    const source = await openSource(opts.source, sourceOptionsOf(opts));
    if ('sequential' in source) return importSequential(opts, reporter, { input: source.sequential.stream, totalBytes: source.sequential.sizeBytes ?? 0 });
    archive = source.archive;
  }
  // 2. Open the package and plan the domain: one record per drive.
  const opened = await openPackage(opts, reporter, archive);
  // 3-8. Draft, check the host, then convert each disk while the manifest is checked over the same bytes; either failing stops both.
  return importPlanned(opts, reporter, opened, {
    signature: 'before',
    fill: (plan, draft) => async (rollback, signal) => {
      // The members the conversion streams are hashed as they are read (single pass): digests.
      const digests = await streamedDigests(plan, draft.drives, opts.verify);
      const ctx = { archive: plan.archive, store: draft.store, rollback, reporter, tempDir: tempDirOf(opts), converter: opts.converter ?? 'auto', transfer: draft.transfer, ...(digests ? { digests } : {}) };
      return alongside(
        signal,
        (s) => convertDrives(plan, draft.drives, { ...ctx, signal: s }),
        (s) => verifyManifest(plan, { verify: opts.verify, reporter, ...(digests ? { digests } : {}) }, s),
      );
    },
  });
}

/** Step 5: creates and fills the target of every drive that has one, in order, one stage each. */
async function convertDrives(plan: ImportPlan, drives: readonly TargetedDrive[], ctx: ConvertContext): Promise<ConvertedDrive[]> {
  const converted: ConvertedDrive[] = [];
  for (const [i, drive] of drives.entries()) {
    if (!drive.target) {
      converted.push(drive);
      continue;
    }
    ctx.signal.throwIfAborted();
    const what = drive.kind === 'generated' ? 'Writing the OVF environment CD-ROM' : `${drive.kind === 'file' ? 'Converting' : 'Creating empty'} ${drive.placed.device}`;
    const from = drive.kind === 'file' ? ` (${drive.file.href}, ${drive.format})` : '';
    ctx.reporter.emit({ kind: 'stage', message: `${what} ${i + 1}/${plan.drives.length}${from} to ${drive.target.name}` });
    converted.push({ ...drive, volume: await convertDrive(drive as TargetedDrive & { target: DriveTarget }, ctx) });
  }
  return converted;
}

