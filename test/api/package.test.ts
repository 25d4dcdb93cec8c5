// The package as users get it: `npm pack`, an offline install of the tarball in a scratch project,
// and a program that imports 'virt-ovf' by name (inspect, a --print-xml-equivalent import, types).
//
// Offline by construction: the scratch project's package-lock.json is the project's own lock cut to
// the runtime dependencies, plus the packed tarball, and `npm ci --offline` takes every tarball
// from the npm cache that installing this project filled. No registry is asked; when the cache
// lacks a tarball the test is skipped and says so.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { VERSION } from '../../src/version.js';
import { TEST_URI } from '../libvirt/harness.js';
import { DATA_DIR, PROJECT_ROOT } from '../ovf/helpers.js';

interface LockEntry {
  readonly dev?: boolean;
  readonly [key: string]: unknown;
}

/** A package-lock.json for `app` that installs `tarball` (a file name beside `app`) with the project's locked runtime dependencies. */
async function scratchLock(tarball: Buffer, tarballName: string): Promise<object> {
  const lock = JSON.parse(await readFile(join(PROJECT_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const pkg = JSON.parse(await readFile(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string>; bin: unknown; engines: unknown };
  const spec = `file:../${tarballName}`;
  const packages: Record<string, unknown> = {
    '': { name: 'scratch', version: '1.0.0', dependencies: { 'virt-ovf': spec } },
    'node_modules/virt-ovf': { version: pkg.version, resolved: spec, integrity: `sha512-${createHash('sha512').update(tarball).digest('base64')}`, dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines },
  };
  for (const [path, entry] of Object.entries(lock.packages)) if (path.startsWith('node_modules/') && !entry.dev) packages[path] = entry;
  return { name: 'scratch', version: '1.0.0', lockfileVersion: 3, requires: true, packages };
}

/** The program the scratch project runs: everything through the package name. */
const PROGRAM = `
const signals = () => ['SIGINT', 'SIGTERM'].map((s) => process.listenerCount(s));
const before = signals();
const { importPackage, inspectPackage, UsageError, ExitCode } = await import('virt-ovf');
const after = signals();
const source = process.argv[2];
const report = await inspectPackage({ source });
const result = await importPackage({ source, printXml: true, virtType: 'qemu' });
const error = await inspectPackage({ source, profile: 'nonesuch' }).catch((e) => ({ usage: e instanceof UsageError, option: e.option, exitCode: e.exitCode, usageCode: ExitCode.Usage }));
console.log(JSON.stringify({ before, after, name: report.domain.name, disks: report.disks.length, xml: result.xml, error }));
`;

/** A TypeScript user of the package: compiles only if "exports" leads tsc to the declarations. */
const TYPED = `
import { importPackage, type ImportPackageOptions, type ImportResult, VirtOvfError } from 'virt-ovf';
const options: ImportPackageOptions = { source: 'x.ova', profile: 'virtio', printXml: true };
const result: Promise<ImportResult> = importPackage(options);
export const checks = [result, VirtOvfError] as const;
`;

describe('the packed virt-ovf, installed offline in a scratch project', () => {
  let work = '';
  let app = '';
  let skip: string | undefined;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'virt-ovf-pack-'));
    app = join(work, 'app');
    await mkdir(app);
    const packed = await execa('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: PROJECT_ROOT });
    const { filename } = (JSON.parse(String(packed.stdout)) as { filename: string }[])[0]!;
    const tarball = await readFile(join(work, filename));
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'scratch', version: '1.0.0', private: true, type: 'module', dependencies: { 'virt-ovf': `file:../${filename}` } }));
    await writeFile(join(app, 'package-lock.json'), JSON.stringify(await scratchLock(tarball, filename)));
    const installed = await execa('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: app, reject: false });
    if (installed.exitCode !== 0 && /ENOTCACHED/.test(String(installed.stderr))) skip = `the npm cache lacks a dependency tarball (run npm ci in the project once): ${String(installed.stderr).split('\n')[0]}`;
    else assert.equal(installed.exitCode, 0, String(installed.stderr));
  });
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('imports virt-ovf by name: no signal handler on import, an inspect, a --print-xml import, a flag-free usage error', async (t) => {
    if (skip) return t.skip(skip);
    await writeFile(join(app, 'main.mjs'), PROGRAM);
    const r = await execa('node', ['main.mjs', join(DATA_DIR, 'vmware-ovf10.ovf')], { cwd: app, env: { LIBVIRT_DEFAULT_URI: TEST_URI } });
    const out = JSON.parse(String(r.stdout)) as { before: number[]; after: number[]; name: string; disks: number; xml: string; error: Record<string, unknown> };
    assert.deepEqual(out.after, out.before);
    assert.equal(out.name, 'tiny-vm');
    assert.ok(out.disks >= 1);
    assert.match(out.xml, /^<domain type="qemu"/);
    assert.match(out.xml, /<name>tiny-vm<\/name>/);
    assert.deepEqual(out.error, { usage: true, option: 'profile', exitCode: 2, usageCode: 2 });
  });

  it('ships the command, the tables and the type declarations', async (t) => {
    if (skip) return t.skip(skip);
    const version = await execa(join(app, 'node_modules', '.bin', 'virt-ovf'), ['--version'], { cwd: app });
    assert.equal(String(version.stdout).trim(), VERSION);
    const pkg = join(app, 'node_modules', 'virt-ovf');
    for (const file of ['mappings/devices.json', 'mappings/defaults.json', 'man/virt-ovf.1', 'dist/src/index.d.ts']) await readFile(join(pkg, file));
    await writeFile(join(app, 'typed.ts'), TYPED);
    await writeFile(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: [] }, files: ['typed.ts'] }));
    const tsc = await execa('node', [join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app], { cwd: app, reject: false });
    assert.equal(tsc.exitCode, 0, `${String(tsc.stdout)}${String(tsc.stderr)}`);
  });
});
