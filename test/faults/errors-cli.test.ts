// How the CLI reports errors: --json usage errors as one JSON object, a bug's trace only with -v, the exit status table everywhere, multi-line messages.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { chmod, chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { EXIT_STATUS } from '../../src/errors.js';
import { deviceOpenableBy, qemuUser } from '../../src/import/kvm.js';
import { createReporter } from '../../src/report.js';
import { CLI, runCli } from '../commands/helpers.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * A preload that makes stat() of any path containing "force-a-bug" throw a TypeError (a bug
 * virt-ovf cannot classify), and of "force-an-uncaught" throw outside any await (and never answer).
 */
const PRELOAD = `import fsp from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
const real = fsp.stat;
fsp.stat = function (path, ...rest) {
  if (String(path).includes('force-a-bug')) return Promise.reject(new TypeError("Cannot read properties of undefined (reading 'size')"));
  if (String(path).includes('force-an-uncaught')) {
    setImmediate(() => { throw new RangeError('forced outside any await'); });
    return new Promise(() => undefined);
  }
  return real.call(this, path, ...rest);
};
syncBuiltinESMExports();
`;

describe('CLI error reporting', () => {
  let work = '';
  let preload = '';

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'virt-ovf-errors-cli-'));
    preload = join(work, 'preload.mjs');
    await writeFile(preload, PRELOAD);
  });
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** Runs the CLI with the bug-forcing preload. */
  async function withBug(args: string[]) {
    const r = await execa('node', ['--import', preload, CLI, ...args], { reject: false, stdin: 'ignore' });
    return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
  }

  test('--json makes a usage error one JSON object on stdout, and nothing on stderr', async () => {
    for (const args of [['import', '--json'], ['import', 'x.ova', '--json', '--bogus'], ['--json', 'export', 'd', '-o', 'x.ova', '--compress', '12'], ['--json']]) {
      const r = await runCli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr, '', `${args.join(' ')} wrote to stderr`);
      const lines = r.stdout.split('\n').filter(Boolean);
      assert.equal(lines.length, 1, r.stdout);
      const event = JSON.parse(lines[0]!) as Record<string, unknown>;
      assert.equal(event['version'], 1);
      assert.equal(event['kind'], 'error');
      assert.equal(event['exitCode'], 2);
      assert.equal(event['errorClass'], 'UsageError');
      assert.equal(typeof event['message'], 'string');
    }
  });

  test('a bug exits 1 saying it is one; the stack trace only with -v', async () => {
    const source = join(work, 'force-a-bug.ova');
    const plain = await withBug(['inspect', source]);
    assert.equal(plain.code, 1, plain.stderr);
    assert.match(plain.stderr, /^virt-ovf: error: internal error: Cannot read properties of undefined \(reading 'size'\); this is a bug; please report it/m);
    assert.doesNotMatch(plain.stderr, /^\s+at /m);
    const verbose = await withBug(['inspect', source, '-v']);
    assert.equal(verbose.code, 1);
    assert.match(verbose.stderr, /^TypeError: Cannot read properties of undefined/m);
    assert.match(verbose.stderr, /^\s+at .*openArchive/m);
    assert.match(verbose.stderr, /this is a bug; please report it/);
    const json = await withBug(['inspect', source, '--json']);
    const events = json.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(events.map((e) => [e['kind'], e['exitCode'], e['errorClass']]), [['error', 1, 'TypeError']]);
    const jsonVerbose = await withBug(['inspect', source, '--json', '-v']);
    const kinds = jsonVerbose.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(kinds.at(-1)?.['kind'], 'error');
    assert.ok(kinds.some((e) => e['kind'] === 'debug' && /at .*openArchive/.test(String(e['message']))), jsonVerbose.stdout);
  });

  test('an exception nothing awaited is reported once as a bug, exit 1, the trace only with -v', async () => {
    const source = join(work, 'force-an-uncaught.ova');
    const plain = await withBug(['inspect', source]);
    assert.equal(plain.code, 1, plain.stderr);
    assert.equal(plain.stderr.match(/^virt-ovf: error: internal error: forced outside any await; this is a bug; please report it/gm)?.length, 1, plain.stderr);
    assert.doesNotMatch(plain.stderr, /^\s+at /m);
    const verbose = await withBug(['inspect', source, '-v']);
    assert.equal(verbose.code, 1);
    assert.match(verbose.stderr, /^RangeError: forced outside any await\n\s+at /m);
  });

  test('--help and the README print one exit status table (EXIT_STATUS); the man page documents every code', async () => {
    const help = (await runCli(['--help'])).stdout;
    const man = (await readFile(join(ROOT, 'man/virt-ovf.1'), 'utf8')).replace(/\\-/g, '-');
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    for (const [code, meaning] of Object.entries(EXIT_STATUS)) {
      assert.ok(help.replace(/\s+/g, ' ').includes(`${code} ${meaning}`.replace(/\s+/g, ' ')), `--help lacks exit ${code}: ${help}`);
      assert.match(man, new RegExp(`^\\.TP\\n\\.B ${code}$`, 'm'), `man page lacks exit ${code}`);
      assert.ok(readme.includes(`\n| ${code} | ${meaning} |\n`), `README's exit status table lacks "${code} ${meaning}"`);
    }
  });

  test('a multi-line message (libvirt, QEMU) is printed as indented lines, control characters still escaped', () => {
    const err = new PassThrough();
    let text = '';
    err.on('data', (c: Buffer) => (text += c.toString()));
    createReporter({ err, tty: false }).emit({ kind: 'error', message: 'virDomainCreate: qemu failed\nassertion `x` failed\u001b[2J', exitCode: 4, errorClass: 'LibvirtError' });
    assert.equal(text, 'virt-ovf: error: virDomainCreate: qemu failed\n  assertion `x` failed\\u001b[2J\n');
  });

  test('/dev/kvm access is judged from the mode bits against the QEMU user and its groups', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('chown of the stand-in device needs root');
    const dev = join(work, 'kvm');
    await writeFile(dev, '');
    await chown(dev, 0, 5678);
    await chmod(dev, 0o660);
    const qemu = { uid: 64055, gid: 64055, groups: [] as number[] };
    assert.equal(await deviceOpenableBy(dev, qemu), false, 'neither owner nor group');
    assert.equal(await deviceOpenableBy(dev, { ...qemu, groups: [5678] }), true, 'a supplementary group');
    assert.equal(await deviceOpenableBy(dev, { ...qemu, gid: 5678 }), true, 'the primary group');
    assert.equal(await deviceOpenableBy(dev, { uid: 0, gid: 0, groups: [] }), true, 'root');
    await chmod(dev, 0o666);
    assert.equal(await deviceOpenableBy(dev, qemu), true, 'world read-write');
    await chmod(dev, 0o640);
    assert.equal(await deviceOpenableBy(dev, { ...qemu, groups: [5678] }), false, 'group read-only');
  });

  test("QEMU's user comes from the capabilities' DAC base label for kvm", async () => {
    const caps = "<capabilities><host><secmodel><model>none</model></secmodel><secmodel><model>dac</model><doi>0</doi><baselabel type='kvm'>+0:+0</baselabel><baselabel type='qemu'>+0:+0</baselabel></secmodel></host></capabilities>";
    const root = await qemuUser(caps);
    assert.equal(root?.uid, 0);
    assert.ok(root?.groups.includes(0), 'root is in group 0 by /etc/passwd');
    assert.equal(await qemuUser('<capabilities><host/></capabilities>'), undefined);
  });
});
