// SIGKILL of `virt-ovf export` (issue 9 items 1 and 10): mid-export of a stopped domain (qemu-img
// maps the qcow2 disk the VMDK writer reads in place), and during a live export of a running TCG domain
// (while the backup job copies the disk, then while the copy is written). Children die with
// virt-ovf, the .part blocks the output naming virt-ovf cleanup, cleanup removes the .part,
// the work and backup directories and aborts the backup job, and pre-existing files are
// byte-identical.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildAppliance } from '../../scripts/appliance.js';
import { bootId } from '../../src/journal/process-identity.js';
import { TEST_URI, uniqueName } from '../libvirt/harness.js';
import { assertCleanupCycle, assertNoOrphans, cli, closeKillScene, digests, hasEntry, killWhen, openKillScene, type KillScene } from './journal-kit.js';

/** A q35 TCG domain with one SATA qcow2 disk. */
function domainXml(name: string, disk: string): string {
  return `<domain type='qemu'><name>${name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='q35'>hvm</type></os>
<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${disk}'/><target dev='sda' bus='sata'/></disk>
<memballoon model='none'/></devices></domain>`;
}

const virsh = (...args: string[]) => execa('virsh', ['-c', TEST_URI, ...args]);

describe('SIGKILL of virt-ovf export: virt-ovf cleanup removes what the run left, and only that', () => {
  let s: KillScene;
  let name: string;
  let disk: string;
  let canary: string;
  let before0: Map<string, string>;

  before(async () => {
    s = await openKillScene('export');
    const app = await buildAppliance({ dir: join(s.work, 'app'), name: 'exp', content: 'mixed', diskSizeBytes: 1024 * 2 ** 20, manifest: 'none', ova: false });
    disk = join(s.pool.path, 'exp-disk.qcow2');
    await execa('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', app.rawDisk, disk]);
    name = uniqueName('kill-export');
    s.domains.push(name);
    const xml = join(s.work, 'domain.xml');
    await writeFile(xml, domainXml(name, disk));
    await virsh('define', xml);
    canary = join(s.work, 'canary.txt');
    await writeFile(canary, 'pre-existing file beside the output\n');
    before0 = await digests(join(s.work, 'app'), canary);
  });
  after(() => closeKillScene(s));

  const unchanged = async () => assert.deepEqual(await digests(join(s.work, 'app'), canary), before0, 'a pre-existing file changed');
  const workDirs = async () => (await readdir(s.work)).filter((n) => n.startsWith('.virt-ovf-export-'));

  /** Kills an export while it writes the VMDK, then checks the .part, the orphans and the cleanup cycle. */
  async function killWhileWriting(out: string, extra: RegExp[]): Promise<void> {
    const run = await killWhen(s, ['export', name, '-o', out], (o) => /"task":"convert","name":"[^"]+\.vmdk"/.test(o));
    assert.ok(run.entries.some((e) => e.kind === 'file' && e.path === `${out}.part`), 'the .part is journaled');
    assert.ok(run.entries.some((e) => e.kind === 'directory' && e.path.includes('.virt-ovf-export-')), 'the work directory is journaled');
    await assertNoOrphans(run.entries, bootId(), s.tmp);
    assert.ok(existsSync(`${out}.part`) && !existsSync(out));
    const again = await cli(s, ['export', name, '-o', out]);
    assert.equal(again.code, 3, again.stderr);
    assert.match(again.stderr, /\.ova\.part already exists; it was left by an interrupted virt-ovf run, pid \d+ .*: remove what that run left with virt-ovf cleanup/);
    assert.match(again.stderr, /warning: 1 interrupted virt-ovf run\(s\) left/);
    await assertCleanupCycle(s, [new RegExp(`Would remove file ${out}\\.part`), /Would remove directory .*\.virt-ovf-export-/, ...extra], {
      stillThere: async () => assert.ok(existsSync(`${out}.part`) && (await workDirs()).length === 1),
      goneAfter: async () => {
        assert.equal(existsSync(`${out}.part`), false);
        assert.deepEqual(await workDirs(), []);
        assert.deepEqual(await readdir(s.tmp), [], 'nothing left in TMPDIR (socket and backup directories)');
      },
    });
  }

  test('mid-export of a stopped domain: qemu-img map dies with virt-ovf; cleanup removes the .part and the work directory', async () => {
    await killWhileWriting(join(s.work, 'stopped.ova'), [/process \d+ \(qemu-img map /]);
    const done = await cli(s, ['export', name, '-o', join(s.work, 'stopped.ova')]);
    assert.equal(done.code, 0, `after cleanup the output is free: ${done.stderr}`);
    await unchanged();
  });

  test('during a live export: the backup job is aborted and its copy removed; killed again while writing, the .part is removed', async () => {
    await virsh('start', name);
    try {
      const out = join(s.work, 'live.ova');
      const run = await killWhen(s, ['export', name, '-o', out], async () => (await hasEntry(s.tmp, 'virt-ovf-backup-')) && (await readdir(join(s.tmp, (await readdir(s.tmp)).find((n) => n.startsWith('virt-ovf-backup-'))!)).catch(() => [])).length > 0);
      assert.ok(run.entries.some((e) => e.kind === 'backup-job'), 'the backup job is journaled');
      assert.ok(run.entries.some((e) => e.kind === 'directory' && e.path.includes('virt-ovf-backup-')), 'the backup directory is journaled');
      await assertCleanupCycle(s, [/directory .*\/virt-ovf-backup-/, /\.virt-ovf-export-/], {
        stillThere: async () => assert.ok(await hasEntry(s.tmp, 'virt-ovf-backup-')),
        goneAfter: async () => {
          assert.deepEqual(await readdir(s.tmp), [], 'the backup copy is gone');
          assert.deepEqual(await workDirs(), []);
          for (let i = 0; i < 50 && /Job type:\s+(Bounded|Unbounded)/.test(String((await virsh('domjobinfo', name)).stdout)); i++) await sleep(100);
          assert.match(String((await virsh('domjobinfo', name)).stdout), /Job type:\s+None/, 'no backup job runs');
          assert.match(String((await virsh('domstate', name)).stdout), /running/, 'the guest keeps running');
        },
      });
      await killWhileWriting(out, [/directory .*\/virt-ovf-backup-/]);
      assert.match(String((await virsh('domstate', name)).stdout), /running/, 'the guest keeps running');
    } finally {
      await virsh('destroy', name).catch(() => undefined);
    }
    await unchanged();
  });
});
