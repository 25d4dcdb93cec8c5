// How a batch import is reported: the summary table, one JSON result per package, and the exit code.
import { ExitCode } from '../errors.js';
import type { BatchOutcome } from '../import/batch.js';
import { terminalSafe } from '../report.js';
import { presentError } from './present.js';

/** One package's result as `--json` prints it (man/virt-ovf.1 JSON OUTPUT): the import result, or the error as the CLI presents it. */
function json(o: BatchOutcome): Record<string, unknown> {
  const base = { source: o.source, ...(o.domain ? { domain: o.domain } : {}), status: o.status, seconds: Number(o.seconds.toFixed(1)) };
  if (o.result) return { ...base, ...o.result, exitCode: ExitCode.Success };
  if (o.error === undefined) return { ...base, exitCode: ExitCode.Interrupted };
  const e = presentError(o.error);
  return { ...base, exitCode: e.exitCode, error: { message: e.message, exitCode: e.exitCode, errorClass: e.errorClass, ...(e.option ? { option: e.option } : {}) } };
}

/** The summary table: one row per package, in the order given: domain, status (with the exit code of a failure), time, source, and the reason of a failure. */
function table(outcomes: readonly BatchOutcome[]): string {
  const rows = outcomes.map((o) => {
    const code = o.status === 'failed' ? presentError(o.error).exitCode : undefined;
    const what = o.status === 'imported' ? (o.result?.started ? 'started' : o.result?.defined ? 'defined' : 'checked') : o.status === 'failed' ? `failed (${code})` : 'skipped';
    const why = o.status === 'failed' ? presentError(o.error).message : '';
    return [terminalSafe(o.domain || '-'), what, `${o.seconds.toFixed(1)} s`, terminalSafe(o.source), terminalSafe(why)];
  });
  const head = ['DOMAIN', 'RESULT', 'TIME', 'SOURCE', 'REASON'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const ok = outcomes.filter((o) => o.status === 'imported');
  const verb = ok.length > 0 && ok.every((o) => o.result?.defined === false) ? 'checked' : 'imported';
  return `${[line(head), ...rows.map(line)].join('\n')}\n${ok.length} of ${outcomes.length} package(s) ${verb}\n`;
}

/** The summary of a batch, as a table or one JSON object per package. */
export const formatBatch = { json, table } as const;

/**
 * The exit status of a batch: 0 when every package was imported, else that of the first package
 * (in the order given) that was not: its error's exit code, or 130 when it was skipped by an interrupt.
 */
export function batchExitCode(outcomes: readonly BatchOutcome[]): number {
  const first = outcomes.find((o) => o.status !== 'imported');
  if (!first) return ExitCode.Success;
  return first.status === 'skipped' ? ExitCode.Interrupted : presentError(first.error).exitCode;
}
