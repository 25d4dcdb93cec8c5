// Ctrl-C typed on a terminal (issue 12): a pty's line discipline sends SIGINT to virt-ovf and its
// qemu-img/qemu-nbd children together. The run must end within 2 s with exit 130, the rollback
// printed once, nothing left behind and every pre-existing file unchanged. (Before: the rollback
// was printed, then a progress bar's redraw timer kept the process alive until a second Ctrl-C.)
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildAppliance, type ApplianceResult } from '../../scripts/appliance.js';
import { closeScratch, domainExists, openScratch, poolVolumes, runCli } from '../commands/helpers.js';
import { uniqueName, type ScratchPool } from '../libvirt/harness.js';
import { ptyAvailable, runInPty } from '../render/pty.js';
import { renderScreen } from '../render/vt.js';
import { assertCleanupFindsNothing } from './cleanup-check.js';

/** The longest a run may take from Ctrl-C to its exit. */
const DEADLINE_MS = 2000;

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function digests(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await readdir(dir)).sort()) out[f] = await sha256(join(dir, f));
  return out;
}

/** Command lines of running processes that mention `text` (qemu-img or qemu-nbd left on a removed file). */
async function processesMentioning(text: string): Promise<string[]> {
  const { stdout } = await execa('ps', ['-eo', 'args']);
  return stdout.split('\n').filter((l) => l.includes(text) && !l.startsWith('ps '));
}

function count(lines: readonly string[], pattern: RegExp): number {
  return lines.filter((l) => pattern.test(l)).length;
}

describe('Ctrl-C on a terminal ends the run within 2 s, exit 130, nothing left', async () => {
  after(assertCleanupFindsNothing);
  const skip = (await ptyAvailable()) ? false : 'util-linux script(1) cannot run a command on a pty here';
  let pool: ScratchPool | undefined;
  let work: string | undefined;
  let app: ApplianceResult;
  let packageDigests: Record<string, string>;
  const imported = uniqueName('vo-ctrlc-imp');
  const exported = uniqueName('vo-ctrlc-exp');

  before(async () => {
    if (skip) return;
    ({ pool, work } = await openScratch('faults-terminal'));
    // 768 MiB with data: the conversion and the export run for seconds on this machine.
    app = await buildAppliance({ dir: join(work, 'app'), name: 'ctrlc', content: 'mixed', diskSizeBytes: 768 * 2 ** 20 });
    packageDigests = await digests(join(work, 'app'));
  });
  after(() => closeScratch(pool, work, [imported, exported]));

  test('import, during the conversion: the rollback once, no volume, no domain, no qemu-img, the package unchanged', { skip }, async () => {
    const tmp = join(work!, 'tmp-import');
    await mkdir(tmp);
    const run = await runInPty(['import', app.ova!, '--pool', pool!.name, '--name', imported], {
      interrupt: { when: new RegExp(`Converting ${imported}-vmdisk1\\.qcow2 \\[`), delayMs: 300 },
      env: { TMPDIR: tmp },
    });
    const screen = renderScreen(run.output, 100).filter((l) => l !== '');
    assert.ok(run.interruptedAt !== undefined, `the conversion bar never showed:\n${screen.join('\n')}`);
    assert.equal(run.code, 130, screen.join('\n'));
    const took = run.elapsed - run.interruptedAt;
    assert.ok(took < DEADLINE_MS, `exit ${took} ms after Ctrl-C:\n${screen.join('\n')}`);
    assert.equal(count(screen, /\] Import failed \(interrupted by SIGINT\); removing what this run created$/), 1, screen.join('\n'));
    assert.equal(count(screen, new RegExp(`\\] Rolled back: volume ${imported}-vmdisk1\\.qcow2$`)), 1, screen.join('\n'));
    assert.equal(count(screen, /^virt-ovf: error: interrupted by SIGINT$/), 1, screen.join('\n'));
    assert.equal(screen.at(-1), 'virt-ovf: error: interrupted by SIGINT', 'the error is the last line: no bar redrawn after it');
    assert.deepEqual(await poolVolumes(pool!), [], 'a volume is left in the pool');
    assert.equal(domainExists(imported), false);
    assert.deepEqual(await processesMentioning(`${imported}-vmdisk1`), [], 'a qemu-img still works on the removed volume');
    assert.deepEqual(await readdir(tmp), [], 'something is left in TMPDIR');
    assert.deepEqual(await digests(join(work!, 'app')), packageDigests, 'a package file changed');
  });

  test('export, while the disk is written: the error once, no output, no qemu-nbd, the domain and its volume unchanged', { skip }, async () => {
    const setup = await runCli(['import', app.ova!, '--pool', pool!.name, '--name', exported, '-q']);
    assert.equal(setup.code, 0, setup.stderr);
    const [volume] = await poolVolumes(pool!);
    const volumePath = join(pool!.path, volume!);
    const volumeDigest = await sha256(volumePath);
    const out = join(work!, 'out');
    const tmp = join(work!, 'tmp-export');
    await mkdir(out);
    await mkdir(tmp);
    const run = await runInPty(['export', exported, '-o', join(out, 'e.ova')], { interrupt: { when: /Converting \S+\.vmdk \[/, delayMs: 300 }, env: { TMPDIR: tmp } });
    const screen = renderScreen(run.output, 100).filter((l) => l !== '');
    assert.ok(run.interruptedAt !== undefined, `the disk's bar never showed:\n${screen.join('\n')}`);
    assert.equal(run.code, 130, screen.join('\n'));
    const took = run.elapsed - run.interruptedAt;
    assert.ok(took < DEADLINE_MS, `exit ${took} ms after Ctrl-C:\n${screen.join('\n')}`);
    assert.equal(count(screen, /^virt-ovf: error: interrupted by SIGINT$/), 1, screen.join('\n'));
    assert.equal(screen.at(-1), 'virt-ovf: error: interrupted by SIGINT');
    assert.deepEqual(await readdir(out), [], 'the export left a file (.part or the OVA)');
    assert.deepEqual(await readdir(tmp), [], 'the export left something in TMPDIR');
    assert.deepEqual(await processesMentioning(volumePath), [], 'a qemu-nbd or qemu-img is left on the volume');
    assert.ok(domainExists(exported), 'the exported domain is gone');
    assert.equal(await sha256(volumePath), volumeDigest, "the domain's volume changed");
    assert.deepEqual(await digests(join(work!, 'app')), packageDigests, 'a package file changed');
  });
});
