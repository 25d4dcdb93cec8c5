// scripts/quickstart.sh and the README's quick start in a root shell without sudo (a fresh Debian
// 12 has none): the README never says sudo; as root the script never calls it; another user is
// re-run through sudo, or told to be root when there is no sudo. Only the script's first checks run:
// it is copied alone into a scratch directory, so it can never reach apt or npm.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NOBODY = 65534;

/** Shell commands of the README's ```sh blocks in the Quick start section. */
function quickStartCommands(readme: string): string[] {
  const section = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('\n## ', readme.indexOf('## Quick start') + 1));
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split('\n')).map((l) => l.replace(/#.*$/, '').trim()).filter(Boolean);
}

describe('quick start in a root shell without sudo', () => {
  const isRoot = process.getuid?.() === 0;
  let dir = '';
  let script = '';
  let bin = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'virt-ovf-quickstart-'));
    await chmod(dir, 0o755);
    await mkdir(join(dir, 'scripts'));
    script = join(dir, 'scripts', 'quickstart.sh');
    await copyFile(join(ROOT, 'scripts', 'quickstart.sh'), script);
    // A PATH with what the script's first lines use: no sudo, no node.
    bin = join(dir, 'bin');
    await mkdir(bin);
    for (const tool of ['bash', 'dirname', 'date', 'id', 'cat']) {
      const { stdout } = await execa('sh', ['-c', `command -v ${tool}`]);
      await symlink(stdout.trim(), join(bin, tool));
    }
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** Runs the copied script with PATH=`path`, as `uid` (through setpriv) when given. */
  const runScript = (path: string, uid?: number) =>
    execa(uid === undefined ? 'env' : 'setpriv', [...(uid === undefined ? [] : [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', 'env']), '-i', `PATH=${path}`, 'bash', script], { reject: false, cwd: dir });

  test("the README's quick start commands never call sudo, and its first is the script", async () => {
    const commands = quickStartCommands(await readFile(join(ROOT, 'README.md'), 'utf8'));
    assert.equal(commands[0], 'scripts/quickstart.sh');
    assert.deepEqual(commands.filter((c) => /(^|[;&|]\s*)sudo\b/.test(c)), []);
  });

  test('as root without sudo: past the root check without calling sudo (it stops at the missing node)', { skip: isRoot ? false : 'needs root' }, async () => {
    const r = await runScript(bin);
    assert.equal(r.exitCode, 1, r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /sudo/);
    assert.match(r.stderr, /quickstart: error: Node\.js 20 or later is required \(node not found in PATH\)/);
  });

  test('as another user without sudo: told to run it as root', { skip: isRoot ? false : 'needs root to become another user' }, async () => {
    const r = await runScript(bin, NOBODY);
    assert.equal(r.exitCode, 1, r.stderr);
    assert.match(r.stderr, /quickstart: error: run this script as root/);
  });

  test('as another user with sudo: re-run through sudo with the same PATH', { skip: isRoot ? false : 'needs root to become another user' }, async () => {
    const withSudo = join(dir, 'bin-sudo');
    await mkdir(withSudo);
    await chmod(withSudo, 0o777);
    const record = join(withSudo, 'sudo-args');
    await writeFile(join(withSudo, 'sudo'), `#!/bin/bash\nprintf '%s\\n' "$@" > ${record}\n`, { mode: 0o755 });
    const path = `${withSudo}:${bin}`;
    const r = await runScript(path, NOBODY);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /quickstart: not root; re-running through sudo/);
    assert.deepEqual((await readFile(record, 'utf8')).trim().split('\n'), ['--', 'env', `PATH=${path}`, 'bash', script]);
  });
});
