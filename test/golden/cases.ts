// Golden pairs in test/data/golden: what each case is, how its actual output is made, how it is compared.
//
//   import/CASE.ovf         → import/CASE.domain.xml   virt-ovf import CASE.ovf --print-xml (uuid normalised)
//   export/CASE.domain.xml  → export/CASE.ovf          the export mapping of the domain (no disks read)
//   CASE.args (optional)    extra options, one line, shell-style quoting: import options for import
//                           cases (--profile virtio, --deployment large, --vm db, --prop K=V...);
//                           --profile, --ovf-version, --disk-format and --lax for export cases.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../ovf/helpers.js';
import { exportDescriptor, importDomainXml, type ExportCaseOptions } from './adapter.js';

/** Root of the golden pairs. */
export const GOLDEN_DIR = join(PROJECT_ROOT, 'test', 'data', 'golden');

/** The fixed UUID every import golden carries in place of the random one. */
export const GOLDEN_UUID = '00000000-0000-4000-8000-000000000000';

/** One golden pair. */
export interface GoldenCase {
  readonly kind: 'import' | 'export';
  readonly name: string;
  readonly dir: string;
  /** Input file name (in `dir`). */
  readonly input: string;
  /** Golden output file name (in `dir`). */
  readonly golden: string;
  readonly args: readonly string[];
}

/** Splits one line of options like a POSIX shell would (single and double quotes, backslash escapes; no expansion). */
export function splitArgs(line: string): string[] {
  const out: string[] = [];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else word += c === '\\' && quote === '"' && i + 1 < line.length ? line[++i]! : c;
    } else if (c === '"' || c === "'") [quote, word] = [c, word ?? ''];
    else if (c === '\\' && i + 1 < line.length) word = (word ?? '') + line[++i]!;
    else if (/\s/.test(c)) {
      if (word !== undefined) out.push(word);
      word = undefined;
    } else word = (word ?? '') + c;
  }
  if (quote) throw new Error(`unterminated ${quote} in: ${line}`);
  if (word !== undefined) out.push(word);
  return out;
}

/** Every case under GOLDEN_DIR, import cases first, each kind sorted by name. */
export function listCases(): GoldenCase[] {
  const kinds = [
    { kind: 'import' as const, from: '.ovf', to: '.domain.xml' },
    { kind: 'export' as const, from: '.domain.xml', to: '.ovf' },
  ];
  return kinds.flatMap(({ kind, from, to }) => {
    const dir = join(GOLDEN_DIR, kind);
    const inputs = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(from)).sort() : [];
    return inputs.map((input) => {
      const name = input.slice(0, -from.length);
      const argsFile = join(dir, `${name}.args`);
      const args = existsSync(argsFile) ? splitArgs(readFileSync(argsFile, 'utf8').trim()) : [];
      return { kind, name, dir, input, golden: `${name}${to}`, args };
    });
  });
}

/** Export options from a case's args (`--profile P`, `--ovf-version 1|2`, `--disk-format F`, `--lax`). @throws on anything else. */
export function exportOptions(args: readonly string[]): ExportCaseOptions {
  const opts: { ovfVersion: 1 | 2; profile: string; diskFormat: ExportCaseOptions['diskFormat']; lax: boolean } = { ovfVersion: 1, profile: 'faithful', diskFormat: 'vmdk', lax: false };
  for (let i = 0; i < args.length; i++) {
    const [flag, value] = [args[i], args[i + 1]];
    if (flag === '--lax') opts.lax = true;
    else if (flag === '--profile' && value !== undefined) [opts.profile, i] = [value, i + 1];
    else if (flag === '--ovf-version' && (value === '1' || value === '2')) [opts.ovfVersion, i] = [Number(value) as 1 | 2, i + 1];
    else if (flag === '--disk-format' && (value === 'vmdk' || value === 'qcow2' || value === 'raw')) [opts.diskFormat, i] = [value, i + 1];
    else throw new Error(`export case option not understood: ${args.slice(i).join(' ')}`);
  }
  return opts;
}

/** Replaces what differs from run to run: the domain's random <uuid>. */
export function normalise(xml: string): string {
  return xml.replace(/<uuid>[0-9a-f-]{36}<\/uuid>/, `<uuid>${GOLDEN_UUID}</uuid>`);
}

/** What the code produces today for `c`. */
export async function actualOutput(c: GoldenCase): Promise<string> {
  if (c.kind === 'import') return normalise(await importDomainXml(c.dir, c.input, c.args));
  return exportDescriptor(readFileSync(join(c.dir, c.input), 'utf8'), exportOptions(c.args)).ovf;
}

/** The stored golden text, or undefined when the case has none yet. */
export function storedOutput(c: GoldenCase): string | undefined {
  const path = join(c.dir, c.golden);
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

/** Writes `text` as the case's golden; returns whether the file changed. */
export async function writeGolden(c: GoldenCase, text: string): Promise<boolean> {
  if (storedOutput(c) === text) return false;
  await writeFile(join(c.dir, c.golden), text);
  return true;
}

/** Golden files are rewritten instead of compared: `UPDATE_GOLDEN=1`, or `--update-golden` on the command line. */
export function updating(): boolean {
  return process.env['UPDATE_GOLDEN'] === '1' || process.argv.includes('--update-golden');
}
