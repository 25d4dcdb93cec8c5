// Schema of mappings/formats.json: DiskSection ovf:format URIs to qemu-img formats, and the URI export writes.
import { z } from 'zod';

/** One row; the first whose pattern matches the ovf:format URI wins. */
export const formatRowSchema = z.strictObject({
  /** Case-insensitive regular expression over the ovf:format URI. */
  pattern: z.string().min(1),
  format: z.enum(['vmdk', 'qcow2', 'raw', 'vpc', 'vhdx', 'vdi']),
  /** The ovf:format URI export writes for this format (the first row of a format that has one). */
  exportUri: z.string().url().optional(),
});

/** The whole formats.json, read as its rows. */
export const formatsSchema = z.strictObject({ $comment: z.string().optional(), rows: z.array(formatRowSchema) }).transform((table) => table.rows);

export type FormatRow = z.infer<typeof formatRowSchema>;

/** An overlay's rows come first (so they win). */
export function mergeFormats(over: readonly FormatRow[], base: readonly FormatRow[]): FormatRow[] {
  return [...over, ...base];
}
