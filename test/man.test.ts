// Keeps man/virt-ovf.1 and the --help output in step: options both ways, and every exit code.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { before, describe, test } from 'node:test';
import { execa } from 'execa';
import { ExitCode } from '../src/errors.js';

/** Project root: this file runs as dist/test/man.test.js. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = fileURLToPath(new URL('../../bin/virt-ovf', import.meta.url));
const MAN = fileURLToPath(new URL('../../man/virt-ovf.1', import.meta.url));

/**
 * Options the man page's OPTIONS section may name without --help listing them as options:
 * --no-verify is yargs' automatic negation of the boolean --verify.
 */
const NEGATIONS = new Set(['--no-verify', '--no-define']);

/** Long option names (`--name`) in a text, in order of first appearance. */
function longOptions(text: string): string[] {
  return [...new Set(text.match(/--[a-z][a-z-]*/g) ?? [])];
}

/** The man page source with roff's escaped hyphens (`\-`) turned back into `-`. */
function normalize(roff: string): string {
  return roff.replace(/\\-/g, '-');
}

/** The lines of section `name` (from `.SH NAME` up to the next `.SH`). */
function section(page: string, name: string): string {
  const lines = page.split('\n');
  const start = lines.findIndex((l) => /^\.SH\s/.test(l) && l.replace(/^\.SH\s+/, '').replace(/"/g, '').trim() === name);
  assert.notEqual(start, -1, `man page has no .SH ${name} section`);
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((l) => /^\.SH\s/.test(l));
  return (end === -1 ? rest : rest.slice(0, end)).join('\n');
}

/** True when `option` occurs in `text` as a whole option name (so --verify does not match inside --no-verify). */
function mentions(text: string, option: string): boolean {
  return new RegExp(`(?<![A-Za-z0-9-])${option}(?![A-Za-z0-9-])`).test(text);
}

async function help(...args: string[]): Promise<string> {
  const r = await execa('node', [CLI, ...args, '--help'], { cwd: ROOT, reject: false, stdin: 'ignore' });
  assert.equal(r.exitCode, 0, `virt-ovf ${[...args, '--help'].join(' ')} exited ${r.exitCode}: ${r.stderr}`);
  return String(r.stdout);
}

describe('man/virt-ovf.1 matches --help', () => {
  let page = '';
  let helpText = '';
  let helpOptions: string[] = [];

  before(async () => {
    page = normalize(await readFile(MAN, 'utf8'));
    const texts = await Promise.all([help(), help('import'), help('inspect'), help('export'), help('corpus'), help('cleanup')]);
    helpText = texts.join('\n');
    helpOptions = longOptions(helpText);
  });

  test('the help output lists the options this test relies on', () => {
    for (const o of ['--help', '--version', '--connect', '--verify', '--output-dir', '--tmpdir']) {
      assert.ok(helpOptions.includes(o), `${o} missing from --help; help output:\n${helpText}`);
    }
  });

  test('every long option of --help is in the man page', () => {
    const missing = helpOptions.filter((o) => !mentions(page, o));
    assert.deepEqual(missing, [], `options in --help but not in man/virt-ovf.1: ${missing.join(', ')}`);
  });

  test('every long option of --help is documented in the OPTIONS section', () => {
    const options = section(page, 'OPTIONS');
    const missing = helpOptions.filter((o) => !mentions(options, o));
    assert.deepEqual(missing, [], `options in --help but not under OPTIONS: ${missing.join(', ')}`);
  });

  test('every short alias of --help is in the OPTIONS section', () => {
    const aliases = [...helpText.matchAll(/^\s+(-[a-zA-Z]), --[a-z-]+/gm)].map((m) => m[1]!);
    assert.ok(aliases.length > 0, 'no short aliases found in --help');
    const options = section(page, 'OPTIONS');
    const missing = [...new Set(aliases)].filter((a) => !mentions(options, a));
    assert.deepEqual(missing, [], `short options in --help but not under OPTIONS: ${missing.join(', ')}`);
  });

  test('every option in the OPTIONS section exists in --help', () => {
    const documented = longOptions(section(page, 'OPTIONS'));
    assert.ok(documented.length > 0, 'no options found under OPTIONS');
    // --no-verify is not an option of its own but yargs' negation of --verify: allowed explicitly.
    assert.ok(documented.includes('--no-verify') ? documented.includes('--verify') : true, '--no-verify documented without --verify');
    const unknown = documented.filter((o) => !NEGATIONS.has(o) && !helpOptions.includes(o));
    assert.deepEqual(unknown, [], `options under OPTIONS that --help does not know: ${unknown.join(', ')}`);
  });

  test('every ExitCode is in the EXIT STATUS section', () => {
    const exitStatus = section(page, 'EXIT STATUS');
    const codes = Object.entries(ExitCode);
    assert.ok(codes.length > 0);
    for (const [name, code] of codes) {
      assert.match(exitStatus, new RegExp(`^\\.TP\\n\\.B ${code}$`, 'm'), `ExitCode.${name} (${code}) is not an entry of EXIT STATUS`);
    }
    const documented = [...exitStatus.matchAll(/^\.TP\n\.B (\d+)$/gm)].map((m) => Number(m[1]));
    const values = new Set<number>(codes.map(([, c]) => c));
    const extra = documented.filter((c) => !values.has(c));
    assert.deepEqual(extra, [], `EXIT STATUS documents codes ExitCode lacks: ${extra.join(', ')}`);
  });
});
