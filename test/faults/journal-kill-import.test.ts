// SIGKILL of `virt-ovf import` at each stage (issue 9 items 1 and 10): before the conversion
// (while a gzip disk is decompressed into its temporary copy), mid-conversion (qemu-img, and the
// in-process decoder), during define.
// The orphan qemu-img dies with virt-ovf, the name the run holds is refused with virt-ovf
// cleanup as the remedy, cleanup --dry-run lists the objects, cleanup removes them, a second
// cleanup finds nothing, and the package is byte-identical.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildAppliance, type ApplianceResult } from '../../scripts/appliance.js';
import { bootId } from '../../src/journal/process-identity.js';
import { domainExists } from '../commands/helpers.js';
import { TEST_URI, uniqueName } from '../libvirt/harness.js';
import { assertCleanupCycle, assertNoOrphans, cli, closeKillScene, digests, hasEntry, killWhen, killWhenRetrying, openKillScene, type KillScene } from './journal-kit.js';

describe('SIGKILL of virt-ovf import: virt-ovf cleanup removes what the run left, and only that', () => {
  let s: KillScene;
  let big: ApplianceResult;
  let small: ApplianceResult;
  let gzipDir: string;
  let before0: Map<string, string>;

  before(async () => {
    s = await openKillScene('import');
    big = await buildAppliance({ dir: join(s.work, 'big'), name: 'big', content: 'mixed', diskSizeBytes: 1536 * 2 ** 20, manifest: 'none' });
    small = await buildAppliance({ dir: join(s.work, 'small'), name: 'small', manifest: 'none' });
    // An OVF directory whose 512 MiB raw-content VMDK is gzip-compressed: import decompresses it into a temporary copy first.
    gzipDir = join(s.work, 'gz');
    const gz = await buildAppliance({ dir: gzipDir, name: 'gz', content: 'mixed', diskSizeBytes: 512 * 2 ** 20, manifest: 'none', ova: false });
    await execa('gzip', ['-1', '-n', gz.vmdk]);
    await execa('mv', [`${gz.vmdk}.gz`, gz.vmdk]);
    const ovf = await readFile(gz.ovf, 'utf8');
    assert.match(ovf, /ovf:id="file1" ovf:size="\d+"/);
    await writeFile(gz.ovf, ovf.replace(/ovf:id="file1" ovf:size="\d+"/, 'ovf:id="file1" ovf:compression="gzip"'));
    await rm(gz.rawDisk);
    before0 = await digests(join(s.work, 'big'), join(s.work, 'small'), gzipDir);
  });
  after(() => closeKillScene(s));

  const unchanged = async () => assert.deepEqual(await digests(join(s.work, 'big'), join(s.work, 'small'), gzipDir), before0, 'a pre-existing file changed');
  const importArgs = (pkg: string, name: string, converter: 'auto' | 'qemu-img' = 'auto') => ['import', pkg, '--pool', s.pool.name, '--name', name, '--virt-type', 'qemu', '--converter', converter];

  test('before the conversion (decompressing a gzip disk into its temporary copy): the copy is journaled and removed by cleanup', async () => {
    const name = uniqueName('kill-gz');
    // qemu-img needs the copy; the auto converter would stream the gzip VMDK with none.
    const run = await killWhen(s, importArgs(join(gzipDir, 'gz.ovf'), name, 'qemu-img'), () => hasEntry(s.tmp, 'virt-ovf-'));
    assert.ok(run.entries.some((e) => e.kind === 'directory' && e.path.startsWith(`${s.tmp}/virt-ovf-`)), 'the temporary copy is journaled');
    assert.deepEqual(await readdir(s.pool.path), [], 'no volume yet');
    const next = await cli(s, [...importArgs(join(gzipDir, 'gz.ovf'), name, 'qemu-img'), '--dry-run']);
    assert.equal(next.code, 0, next.stderr);
    assert.match(next.stderr, /warning: 1 interrupted virt-ovf run\(s\) left \d+ object\(s\) behind .*virt-ovf cleanup/);
    await assertCleanupCycle(s, [/Would remove directory .*\/tmp\/virt-ovf-/], {
      stillThere: async () => assert.ok(await hasEntry(s.tmp, 'virt-ovf-'), 'a dry run removes nothing'),
      goneAfter: async () => assert.deepEqual(await readdir(s.tmp), [], 'the temporary copy is gone'),
    });
    await unchanged();
  });

  test('mid-conversion of a 1.5 GiB disk: qemu-img dies with virt-ovf, the volume blocks the name until cleanup removes it', async () => {
    const name = uniqueName('kill-convert');
    const run = await killWhen(s, importArgs(big.ova!, name, 'qemu-img'), (out) => /"task":"convert"/.test(out));
    const volume = `${name}-vmdisk1.qcow2`;
    assert.ok(run.entries.some((e) => e.kind === 'volume' && e.name === volume && e.state === 'created'), 'the volume is journaled');
    assert.ok(run.entries.some((e) => e.kind === 'process' && e.command.startsWith('qemu-img convert')), 'qemu-img convert is journaled');
    await assertNoOrphans(run.entries, bootId(), volume);
    const again = await cli(s, importArgs(big.ova!, name, 'qemu-img'));
    assert.equal(again.code, 4, again.stderr);
    assert.match(again.stderr, new RegExp(`error: volume "${volume}" already exists in pool "${s.pool.name}"; it was left by an interrupted virt-ovf run, pid \\d+ .*: remove what that run left with virt-ovf cleanup`));
    await assertCleanupCycle(s, [new RegExp(`Would remove volume ${volume} in pool ${s.pool.name}`), /Already gone: process \d+ \(qemu-img convert/], {
      stillThere: async () => assert.deepEqual(await readdir(s.pool.path), [volume]),
      goneAfter: async () => assert.deepEqual(await readdir(s.pool.path), []),
    });
    await unchanged();
  });

  test('mid-decode of a 1.5 GiB disk written in place by the qcow2 encoder: the volume blocks nothing after cleanup removes it, and no child was left', async () => {
    const name = uniqueName('kill-stream');
    const run = await killWhen(s, importArgs(big.ova!, name), (out) => /"task":"convert","name":"[^"]+","bytesDone":[1-9]/.test(out));
    const volume = `${name}-vmdisk1.qcow2`;
    assert.ok(run.entries.some((e) => e.kind === 'volume' && e.name === volume && e.state === 'created'), 'the volume is journaled');
    assert.ok(!run.entries.some((e) => e.kind === 'process'), 'the encoder runs in virt-ovf: no child is journaled');
    await assertNoOrphans(run.entries, bootId(), volume);
    await assertCleanupCycle(s, [new RegExp(`Would remove volume ${volume} in pool ${s.pool.name}`)], {
      stillThere: async () => assert.deepEqual(await readdir(s.pool.path), [volume]),
      goneAfter: async () => assert.deepEqual(await readdir(s.pool.path), []),
    });
    await unchanged();
  });

  test('during define: the volume and the domain (when libvirt defined it) are removed by cleanup', async () => {
    const name = uniqueName('kill-define');
    s.domains.push(name);
    const missed = async (): Promise<void> => {
      await execa('virsh', ['-c', TEST_URI, 'undefine', name], { reject: false });
      await rm(join(s.pool.path, `${name}-vmdisk1.qcow2`), { force: true });
      await execa('virsh', ['-c', TEST_URI, 'pool-refresh', s.pool.name], { reject: false });
    };
    const run = await killWhenRetrying(s, importArgs(small.ova!, name), (out) => /"message":"Defining domain/.test(out), missed);
    assert.ok(run.entries.some((e) => e.kind === 'volume'), 'the volume is journaled');
    const volume = `${name}-vmdisk1.qcow2`;
    const again = await cli(s, importArgs(small.ova!, name));
    assert.equal(again.code, 4, again.stderr);
    assert.match(again.stderr, /already exists.*; it was left by an interrupted virt-ovf run, pid \d+ .*virt-ovf cleanup/);
    const defined = domainExists(name);
    if (defined) assert.ok(run.entries.some((e) => e.kind === 'domain' && e.name === name), 'a defined domain was journaled first');
    await assertCleanupCycle(s, [new RegExp(`Would remove volume ${volume}`), ...(defined ? [new RegExp(`Would remove domain ${name} `)] : [])], {
      stillThere: async () => assert.deepEqual(await readdir(s.pool.path), [volume]),
      goneAfter: async () => {
        assert.deepEqual(await readdir(s.pool.path), []);
        assert.equal(domainExists(name), false, 'the domain is undefined');
      },
    });
    const fresh = await cli(s, importArgs(small.ova!, name));
    assert.equal(fresh.code, 0, `after cleanup the name is free: ${fresh.stderr}`);
    assert.doesNotMatch(fresh.stderr, /interrupted virt-ovf run/);
    assert.equal(existsSync(join(s.pool.path, volume)), true);
    await unchanged();
  });
});
