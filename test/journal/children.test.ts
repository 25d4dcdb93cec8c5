// Children die with virt-ovf: a process started through diesWithParent is killed by the kernel
// when its parent is SIGKILLed, and is journaled while it runs.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { diesWithParent } from '../../src/journal/children.js';
import { identityOf, isRunning } from '../../src/journal/process-identity.js';

const CHILDREN = join(dirname(fileURLToPath(import.meta.url)), '../../src/journal/children.js');

test('diesWithParent wraps the command in setpriv --pdeathsig KILL, and leaves a missing program to fail with ENOENT', () => {
  assert.deepEqual(diesWithParent('sleep', ['1']).args.slice(0, 3), ['--pdeathsig', 'KILL', '--']);
  assert.deepEqual(diesWithParent('no-such-program-virt-ovf', ['x']), { file: 'no-such-program-virt-ovf', args: ['x'] });
});

test('a child started through diesWithParent dies when its parent is killed with SIGKILL', async () => {
  const script = `import { diesWithParent } from ${JSON.stringify(CHILDREN)};
import { spawn } from 'node:child_process';
const c = diesWithParent('sleep', ['300']);
const child = spawn(c.file, c.args, { stdio: 'ignore' });
console.log(child.pid);
setInterval(() => {}, 1000);`;
  const parent = execa('node', ['--input-type=module', '-e', script], { buffer: false });
  const pid = await new Promise<number>((resolve) => parent.stdout!.once('data', (chunk: Buffer) => resolve(Number(String(chunk).trim()))));
  await sleep(200); // setpriv has exec'ed sleep
  const child = identityOf(pid);
  assert.ok(child && isRunning(child), 'the child runs');
  assert.match(await execa('ps', ['-o', 'args=', '-p', String(pid)]).then((r) => r.stdout), /^sleep 300/);
  parent.kill('SIGKILL');
  await parent.catch(() => undefined);
  for (let i = 0; i < 50 && isRunning(child); i++) await sleep(20);
  assert.equal(isRunning(child), false, 'the orphan was killed with its parent');
});
