// The command line's own options: --version from any directory and through a link, -h as --help.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { readFile, rm, symlink, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

const CLI = fileURLToPath(new URL('../../bin/virt-ovf', import.meta.url));
const PACKAGE_JSON = fileURLToPath(new URL('../../package.json', import.meta.url));

function cli(args: string[], opts: { cwd?: string; command?: string } = {}) {
  return execa(opts.command ?? CLI, args, { reject: false, stdin: 'ignore', ...(opts.cwd ? { cwd: opts.cwd } : {}) });
}

describe('virt-ovf --version and -h', () => {
  let dir = '';
  let version = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'virt-ovf-cli-'));
    version = (JSON.parse(await readFile(PACKAGE_JSON, 'utf8')) as { version: string }).version;
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('--version prints package.json\'s version from / and from a directory with another package.json', async () => {
    await execa('sh', ['-c', 'echo \'{"name":"other","version":"9.9.9"}\' > package.json'], { cwd: dir });
    for (const cwd of ['/', dir]) {
      const r = await cli(['--version'], { cwd });
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(r.stdout, version, `from ${cwd}`);
    }
  });

  test('--version through a symbolic link in another directory (as installed in /usr/local/bin)', async () => {
    const link = join(dir, 'virt-ovf');
    await symlink(CLI, link);
    const r = await cli(['--version'], { cwd: '/', command: link });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, version);
  });

  test('-h is --help, for the program and for each command', async () => {
    for (const command of [[], ['import'], ['export'], ['completion']]) {
      const [short, long] = await Promise.all([cli([...command, '-h']), cli([...command, '--help'])]);
      assert.equal(short.exitCode, 0, short.stderr);
      assert.equal(short.stdout, long.stdout, `virt-ovf ${command.join(' ')} -h`);
      assert.match(short.stdout, /-h, --help/);
    }
  });
});
