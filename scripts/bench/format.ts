// Figures of the benchmarks: medians and human-readable durations and sizes, and the import benchmark's log line.

/** 2^20 bytes. */
export const MiB = 2 ** 20;

/** The median of `values` (the mean of the two middle ones for an even count). */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export const fmtS = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
export const fmtMiB = (bytes: number | undefined): string => (bytes === undefined ? 'n/a' : `${(bytes / MiB).toFixed(1)} MiB`);
export function fmtBytes(bytes: number): string {
  const sign = bytes < 0 ? '-' : '';
  const b = Math.abs(bytes);
  if (b < 1024) return `${sign}${b} B`;
  if (b < MiB) return `${sign}${(b / 1024).toFixed(1)} KiB`;
  return `${sign}${(b / MiB).toFixed(1)} MiB`;
}

export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}
