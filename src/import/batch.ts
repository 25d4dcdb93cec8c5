// Importing several packages at once, each its own domain: names resolved first, N at a time, each failure its own.
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { silentReporter, type Reporter, type ReportEvent } from '../report.js';
import { withAbort } from '../rollback.js';
import { importPackage } from './import.js';
import { inRunScope } from '../journal/journal.js';
import { withDefaults, type ImportOptions, type ImportResult } from './options.js';
import { planImport } from './plan.js';

/** Options of importPackages: those of importPackage for every package, less what names one domain. */
export interface BatchOptions extends Omit<ImportOptions, 'source' | 'name' | 'serialLog' | 'vm' | 'existingVolumes'> {
  /** How many packages are imported at the same time, at least 1. @default 1 */
  readonly jobs?: number;
}

/** What became of one package of a batch. */
export interface BatchOutcome {
  /** The package as given. */
  readonly source: string;
  /** The domain name resolved before any work started; absent when the package could not be read. */
  readonly domain?: string;
  /** `imported`: defined (and started when asked); `failed`: rolled back, see `error`; `skipped`: not begun when the batch was interrupted. */
  readonly status: 'imported' | 'failed' | 'skipped';
  /** Seconds the package's import took (0 when skipped). */
  readonly seconds: number;
  readonly result?: ImportResult;
  /** The error importPackage threw (a VirtOvfError subclass, or the signal's reason). */
  readonly error?: unknown;
}

/** A source already known: its domain name, or why it has none. */
type Resolved = { readonly source: string; readonly domain: string } | { readonly source: string; readonly error: unknown };

/**
 * Imports each package as its own domain (importPackage), `jobs` at a time. Every package's
 * domain name is resolved from its descriptor before any work starts; a package that cannot be
 * read fails there, alone. A failing package rolls back only what its own import created; the
 * others go on. An abort (`signal`, or SIGINT/SIGTERM with `handleSignals`) rolls back the
 * imports in flight and skips the ones not begun; finished imports are kept.
 * Events of each package reach `reporter` with `DOMAIN: ` before their message; progress events
 * keep their volume names, which differ between domains.
 * @returns one outcome per source, in the order given.
 * @throws UsageError before any work: no source, a source given twice, standard input (`-`)
 *   among several, `jobs` not a positive integer, or two packages resolving to the same domain
 *   name (both are named).
 */
export async function importPackages(sources: readonly string[], options: BatchOptions, reporter: Reporter = options.reporter ?? silentReporter()): Promise<BatchOutcome[]> {
  checkBatch(sources, options);
  const resolved = await resolveNames(sources, options);
  const outcomes: BatchOutcome[] = resolved.map((r) => ('error' in r ? { source: r.source, status: 'failed', seconds: 0, error: r.error } : { source: r.source, domain: r.domain, status: 'skipped', seconds: 0 }));
  for (const o of outcomes) if (o.status === 'failed') reporter.emit({ kind: 'warning', message: `${o.source}: not imported: ${(o.error as Error).message}` });
  const queue = outcomes.flatMap((o, i) => (o.status === 'skipped' ? [i] : []));
  const { handleSignals, signal: given, jobs = 1, ...common } = options;
  await withAbort({ ...(given ? { signal: given } : {}), ...(handleSignals ? { handleSignals } : {}) }, async (signal) => {
    const worker = async (): Promise<void> => {
      for (let i = queue.shift(); i !== undefined && !signal.aborted; i = queue.shift()) {
        const { source, domain } = outcomes[i]! as { source: string; domain: string };
        const started = Date.now();
        const done = (o: Partial<BatchOutcome>): void => {
          outcomes[i] = { source, domain, seconds: (Date.now() - started) / 1000, status: 'failed', ...o };
        };
        // Each package journals in its own scope: its objects never enter another package's journal.
        await inRunScope(() => importPackage({ ...common, source, ...(domain ? { name: domain } : {}), signal }, prefixed(reporter, domain))).then(
          (result) => done({ status: 'imported', result }),
          (error: unknown) => done({ status: 'failed', error }),
        );
      }
    };
    await Promise.all(Array.from({ length: Math.min(jobs, Math.max(queue.length, 1)) }, worker));
  });
  return outcomes;
}

/**
 * Refuses a batch that cannot be run, before anything is opened.
 * @throws UsageError (see importPackages).
 */
function checkBatch(sources: readonly string[], options: BatchOptions): void {
  if (sources.length === 0) throw new UsageError('name at least one package to import', { option: 'source' });
  const jobs = options.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`jobs must be a whole number of at least 1, not ${jobs}`, { option: 'jobs' });
  if (sources.length > 1 && sources.includes('-')) throw new UsageError('standard input (-) carries one package: import it on its own', { option: 'source' });
  const seen = new Map<string, string>();
  for (const s of sources) {
    const key = /^[a-z][a-z0-9+.-]*:\/\//i.test(s) ? s : resolve(s);
    if (seen.has(key)) throw new UsageError(`${s} is named twice; each package is imported once`, { option: 'source' });
    seen.set(key, s);
  }
}

/**
 * Reads every package's descriptor (planImport, descriptor only) for the domain name it will get.
 * A package that cannot be read or mapped is resolved to its error.
 * @throws UsageError when two packages resolve to the same name.
 */
async function resolveNames(sources: readonly string[], options: BatchOptions): Promise<Resolved[]> {
  const opts = withDefaults({ ...options, source: '' });
  const resolved: Resolved[] = [];
  for (const source of sources) {
    if (source === '-') {
      resolved.push({ source, domain: '' });
      continue;
    }
    try {
      const plan = await planImport({ ...opts, source, descriptorOnly: true });
      resolved.push({ source, domain: plan.name });
    } catch (error) {
      resolved.push({ source, error });
    }
  }
  const byName = new Map<string, string>();
  for (const r of resolved) {
    if (!('domain' in r) || r.domain === '') continue;
    const other = byName.get(r.domain);
    if (other !== undefined) throw new UsageError(`${other} and ${r.source} would both become domain "${r.domain}"; import one of them on its own with another name`, { option: 'source' });
    byName.set(r.domain, r.source);
  }
  return resolved;
}

/** A reporter for one package of the batch: its messages carry `DOMAIN: `; its warnings are its own. */
function prefixed(to: Reporter, domain: string): Reporter {
  const warnings: string[] = [];
  const label = domain === '' ? 'stdin' : domain;
  return {
    warnings,
    emit(event: ReportEvent) {
      if (event.kind === 'warning') warnings.push(event.message);
      if (event.kind === 'stage' || event.kind === 'info' || event.kind === 'warning' || event.kind === 'debug') to.emit({ ...event, message: `${label}: ${event.message}` });
      else to.emit(event);
    },
  };
}
