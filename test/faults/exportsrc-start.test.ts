// A domain started while its stopped-state export runs (issue 9 item 4 and 10). The export is
// frozen (SIGSTOP) once it reads the disk, the domain is started, and the export resumed
// (SIGCONT), so the start surely happens mid-export. A local disk: QEMU's image locks, held for
// the whole export, make the start fail, and the export completes with the disk as it was. A
// network disk (no image lock reaches it): the start succeeds, so the export fails (exit 4),
// naming the domain, and leaves nothing. Before: the start succeeded and the export exited 0.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI } from '../commands/helpers.js';
import { TEST_URI } from '../libvirt/harness.js';
import { assertNothingLeft, assertUnchanged, compareToGuest, defineWithDisks, diskXml, exportedDisks, fingerprints, freePort, openScratch, startNbdServer, type Scratch } from './exportsrc-kit.js';
import { assertCleanupFindsNothing } from './cleanup-check.js';

/** A raw disk of `sizeMiB` with compressible text in its first half, so that exporting it takes a while. */
async function textDisk(path: string, sizeMiB: number): Promise<void> {
  await execa('sh', ['-c', `yes 'virt-ovf export while the domain starts' | head -c ${(sizeMiB / 2) * 2 ** 20} > '${path}' && truncate -s ${sizeMiB}M '${path}'`]);
}

/** How `virsh start` ended: its exit code and what it printed. */
interface StartAttempt {
  readonly code: number;
  readonly said: string;
}

/**
 * Runs `virt-ovf export DOMAIN -o OUTPUT` and, once it reports reading a disk, freezes it,
 * starts the domain, and lets it go on. Returns the export's outcome, the start's, and the
 * output the export had printed when it was frozen (it must not have finished by then); with
 * --json every event, the error included, is on standard output.
 */
async function exportWhileStarting(s: Scratch, domain: string, output: string): Promise<{ code: number; said: string; start: StartAttempt; beforeStop: string }> {
  const child = execa('node', [CLI, 'export', domain, '-o', output, '--json', '--compress', '9'], { reject: false, env: { LIBVIRT_DEFAULT_URI: TEST_URI, TMPDIR: s.tmp } });
  let seen = '';
  const reading = new Promise<string>((resolve) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (/"task":"convert"/.test(seen)) resolve(seen);
    });
  });
  const beforeStop = await Promise.race([reading, child.then(() => seen)]);
  child.kill('SIGSTOP');
  let start: StartAttempt;
  try {
    const r = await execa('virsh', ['-c', TEST_URI, 'start', domain], { reject: false });
    start = { code: r.exitCode ?? -1, said: `${String(r.stdout)}${String(r.stderr)}` };
  } finally {
    child.kill('SIGCONT');
  }
  const r = await child;
  return { code: r.exitCode ?? -1, said: `${String(r.stdout)}${String(r.stderr)}`, start, beforeStop };
}

/** Whether `domain` runs now. */
async function running(domain: string): Promise<boolean> {
  return String((await execa('virsh', ['-c', TEST_URI, 'domstate', domain])).stdout).trim() === 'running';
}

describe('a domain started during its stopped-state export', () => {
  after(assertCleanupFindsNothing);
  let s: Scratch;
  before(async () => {
    s = await openScratch('exportsrc-start');
  });
  after(async () => {
    await s?.cleanup();
  });

  it('with a local disk: the start fails on the image lock and the export writes the disk as it was', async () => {
    const disk = join(s.dir, 'local.raw');
    await textDisk(disk, 512);
    const domain = await defineWithDisks(s, 'xs-start-local', diskXml('file', 'raw', 'vda', `<source file='${disk}'/>`));
    const before = await fingerprints([disk]);
    const output = join(s.dir, 'local.ova');
    const r = await exportWhileStarting(s, domain, output);
    assert.doesNotMatch(r.beforeStop, /Finished:/, 'the export was still reading when the domain was started');
    assert.notEqual(r.start.code, 0, `the start failed: ${r.start.said}`);
    assert.match(r.start.said, /Failed to get "write" lock/);
    assert.equal(r.code, 0, r.said);
    assert.equal(await running(domain), false);
    await assertUnchanged(before);
    const [vmdk] = await exportedDisks(output, 'vmdk');
    await compareToGuest(disk, 'raw', vmdk!, 'vmdk');
    await assertNothingLeft(s, output, { kept: true });
    // Control: once the export is over, the same start succeeds (the lock was what refused it).
    const again = await execa('virsh', ['-c', TEST_URI, 'start', domain], { reject: false });
    assert.equal(again.exitCode, 0, String(again.stderr));
    await execa('virsh', ['-c', TEST_URI, 'destroy', domain]);
  });

  it('with a network disk: the start succeeds, so the export fails with exit 4 and writes nothing', async () => {
    const image = join(s.dir, 'remote.raw');
    await textDisk(image, 512);
    const port = await freePort();
    const stop = await startNbdServer(image, { port }, 'remote', { readOnly: false });
    try {
      const domain = await defineWithDisks(s, 'xs-start-net', diskXml('network', 'raw', 'vda', `<source protocol='nbd' name='remote'><host name='127.0.0.1' port='${port}'/></source>`));
      const output = join(s.dir, 'remote.ova');
      const r = await exportWhileStarting(s, domain, output);
      assert.doesNotMatch(r.beforeStop, /Finished:/, 'the export was still reading when the domain was started');
      assert.equal(r.start.code, 0, r.start.said);
      assert.equal(r.code, 4, r.said);
      assert.match(r.said, new RegExp(`domain ${domain} was started while its disks were being exported.*nothing was written`));
      await assertNothingLeft(s, output);
      await execa('virsh', ['-c', TEST_URI, 'destroy', domain]);
    } finally {
      await stop();
    }
  });
});
