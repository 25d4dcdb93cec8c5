// `virt-ovf cleanup [--dry-run]`: removes what interrupted runs left (src/journal/cleanup.ts).
import { ExitCode, type ExitCodeValue } from '../errors.js';
import { cleanupRuns, type CleanupOptions, type CleanupResult } from '../journal/cleanup.js';
import type { Reporter } from '../report.js';

/** The `cleanup` command's yargs options (registered by cli.ts). */
export const CLEANUP_OPTIONS = {
  'dry-run': { type: 'boolean', default: false, describe: 'List what interrupted runs left, remove nothing' },
} as const;

/** One line per run for the text output: what was (or would be) removed and what was left. */
function summary(r: CleanupResult): string {
  if (r.runs.length === 0) return 'Nothing to clean up\n';
  const count = (outcome: string) => r.runs.reduce((n, run) => n + run.objects.filter((o) => o.outcome === outcome).length, 0);
  const done = r.dryRun ? `${count('would-remove')} object(s) would be removed` : `${count('removed')} object(s) removed`;
  return `${r.runs.length} interrupted run(s): ${done}, ${count('gone')} already gone, ${r.left} left alone\n`;
}

/**
 * Runs `virt-ovf cleanup`: cleanupRuns, the summary on stdout (or the result event with
 * `--json`). Exit 0 when everything recorded is gone (or, dry run, could be removed), 4 when
 * an object was left alone (the warnings say why).
 */
export async function runCleanup(opts: CleanupOptions, reporter: Reporter, json: boolean): Promise<ExitCodeValue> {
  const result = await cleanupRuns(opts, reporter);
  if (json) reporter.emit({ kind: 'result', result });
  else process.stdout.write(summary(result));
  return result.left > 0 ? ExitCode.Libvirt : ExitCode.Success;
}
