// One progress bar as a line of text: label, bar, percentage, size done, rate and time left.
import cliProgress from 'cli-progress';

/** Widest and narrowest bar, in columns. */
const BAR_MAX = 30;
const BAR_MIN = 10;

/** Characters of the bar (cli-progress's shades_classic preset). */
const BAR: cliProgress.Options = {
  barCompleteString: cliProgress.Presets.shades_classic.barCompleteChar!.repeat(BAR_MAX),
  barIncompleteString: cliProgress.Presets.shades_classic.barIncompleteChar!.repeat(BAR_MAX),
  barGlue: '',
  autopaddingChar: '0',
};

/** Sizes below 1 MiB are shown in KiB. */
const KIB = 2 ** 10;
const MIB = 2 ** 20;

/** Time before a rate is worth showing: the first events would give absurd ones. */
const RATE_AFTER_MS = 500;

/** The state of one task's progress. Sizes in bytes, times in milliseconds since the epoch. */
export interface BarState {
  /** "Converting disk.qcow2", "Verifying disk.vmdk". */
  readonly label: string;
  readonly bytesDone: number;
  readonly bytesTotal: number;
  /** When the task's first progress event arrived. */
  readonly startedAt: number;
}

/**
 * The bar's line: `  LABEL [████░░░░] 42% | 430/1024 MiB | 212.0 MiB/s | ETA 03s`, the rate over
 * the task's own time; once done, the time it took instead of the ETA. The bar narrows (to 10
 * columns) so that the line fits in `columns - 1`. A total of 0 means unknown (a pipe):
 * `  LABEL | 430 MiB | 212.0 MiB/s | 12s`.
 */
export function formatBar(state: BarState, opts: { now?: number; columns?: number } = {}): string {
  const now = opts.now ?? Date.now();
  const fraction = state.bytesTotal > 0 ? Math.min(Math.max(state.bytesDone / state.bytesTotal, 0), 1) : 1;
  const elapsedMs = now - state.startedAt;
  const rate = elapsedMs >= RATE_AFTER_MS ? state.bytesDone / (elapsedMs / 1000) : undefined;
  const remaining = rate ? Math.round((state.bytesTotal - state.bytesDone) / rate) : undefined;
  const time = fraction >= 1 ? `in ${(elapsedMs / 1000).toFixed(1)}s` : `ETA ${remaining === undefined ? '--' : cliProgress.Format.TimeFormat(remaining, BAR, 1)}`;
  if (state.bytesTotal === 0) {
    // Total unknown (a pipe): bytes and rate, no bar and no ETA.
    return `  ${state.label} | ${Math.round(state.bytesDone / MIB)} MiB | ${rate === undefined ? '--' : (rate / MIB).toFixed(1)} MiB/s | ${(elapsedMs / 1000).toFixed(0)}s`;
  }
  const [unit, scale] = state.bytesTotal < MIB ? ['KiB', KIB] : ['MiB', MIB];
  const head = `  ${state.label} [`;
  const tail =
    `] ${Math.floor(fraction * 100)}% | ${Math.round(state.bytesDone / scale)}/${Math.round(state.bytesTotal / scale)} ${unit}` +
    ` | ${rate === undefined ? '--' : (rate / MIB).toFixed(1)} MiB/s | ${time}`;
  const barsize = Math.max(BAR_MIN, Math.min(BAR_MAX, (opts.columns ?? Infinity) - 1 - head.length - tail.length));
  return head + cliProgress.Format.BarFormat(fraction, { ...BAR, barsize }) + tail;
}
