// `virt-ovf completion bash|zsh`: the scripts, sourced into a real bash (and zsh when installed),
// complete commands, options and choices from virt-ovf itself and leave file names to the shell.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

const CLI = fileURLToPath(new URL('../../bin/virt-ovf', import.meta.url));

async function onPath(program: string): Promise<boolean> {
  return (await execa('sh', ['-c', `command -v ${program}`], { reject: false })).exitCode === 0;
}

describe('virt-ovf completion', async () => {
  const noZsh = (await onPath('zsh')) ? false : 'zsh is not installed';
  let bin = '';
  /** Runs `script` in `shell` with virt-ovf (a link to bin/virt-ovf) first on PATH, from /. */
  const shell = (program: 'bash' | 'zsh', script: string) =>
    execa(program, program === 'zsh' ? ['-f', '-c', script] : ['-c', script], { cwd: '/', env: { PATH: `${bin}:${process.env['PATH']}` }, reject: false });

  before(async () => {
    bin = await mkdtemp(join(tmpdir(), 'virt-ovf-completion-'));
    await symlink(CLI, join(bin, 'virt-ovf'));
  });
  after(() => rm(bin, { recursive: true, force: true }));

  test('bash: commands, options by prefix, choices of an option; nothing for SOURCE, so bash completes file names', async () => {
    const cases: [string[], number, string][] = [
      [['virt-ovf', 'imp'], 1, 'import'],
      [['virt-ovf', ''], 1, 'import inspect export corpus cleanup completion'],
      [['virt-ovf', 'import', 'a.ova', '--pro'], 3, '--profile --prop'],
      [['virt-ovf', 'import', 'a.ova', '--c'], 3, '--connect --ca --converter'],
      [['virt-ovf', 'export', 'web1', '--disk-format', ''], 4, 'vmdk qcow2 raw'],
      [['virt-ovf', 'completion', ''], 2, 'bash zsh'],
      [['virt-ovf', 'import', ''], 2, ''],
    ];
    const script = [
      'source <(virt-ovf completion bash) || exit 9',
      'complete -p virt-ovf',
      ...cases.map(([words, cword]) => `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${cword}; _virt_ovf_completions; echo "[\${COMPREPLY[*]}]"`),
    ].join('\n');
    const r = await shell('bash', script);
    assert.equal(r.exitCode, 0, r.stderr);
    const [registration, ...answers] = r.stdout.split('\n');
    assert.equal(registration, 'complete -o bashdefault -o default -F _virt_ovf_completions virt-ovf');
    assert.deepEqual(answers, cases.map(([, , want]) => `[${want}]`));
  });

  test('zsh: the same answers with their descriptions for _describe; _files for SOURCE', { skip: noZsh }, async () => {
    // _describe and _files need zsh's completion widgets; stand-ins print what they were given.
    const script = [
      'compdef() { print "compdef $*" }',
      'source <(virt-ovf completion zsh) || exit 9',
      "_describe() { print -l -- ${(P)2} }",
      '_files() { print FILES }',
      'words=(virt-ovf exp); CURRENT=2; _virt_ovf_completions',
      "words=(virt-ovf export web1 --disk-format ''); CURRENT=5; _virt_ovf_completions",
      "words=(virt-ovf import ''); CURRENT=3; _virt_ovf_completions",
    ].join('\n');
    const r = await shell('zsh', script);
    assert.equal(r.exitCode, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], 'compdef _virt_ovf_completions virt-ovf');
    assert.ok(lines.includes('export:Export a libvirt domain as an OVA (or an OVF directory) that VMware, VirtualBox, virt-v2v and virt-ovf import'), r.stdout);
    assert.ok(lines.includes('import:Import an OVA, an .ovf file or a directory holding one as a libvirt domain'), r.stdout);
    assert.deepEqual(lines.slice(-4), ['vmdk', 'qcow2', 'raw', 'FILES']);
  });

  test('an unknown shell is a usage error naming the choices', async () => {
    const r = await execa(CLI, ['completion', 'fish'], { reject: false });
    assert.equal(r.exitCode, 2);
    assert.match(r.stderr, /Choices: "bash", "zsh"/);
  });
});
