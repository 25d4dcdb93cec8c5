// issue 12: a qemu:///session import works end to end as an unprivileged user: the disk lands in
// a pool in the user's data directory, NICs use QEMU user-mode networking (--user-net: a session
// has no libvirt network "default"), and the domain is defined and started (--virt-type qemu).
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildAppliance } from '../../scripts/appliance.js';
import { startSessionDaemon, type SessionDaemon } from '../harness/session-libvirtd.js';

describe('qemu:///session import as an unprivileged user', () => {
  let d: SessionDaemon | undefined;
  let skip: string | undefined;

  before(async () => {
    const started = await startSessionDaemon('session');
    if (typeof started === 'string') skip = started;
    else d = started;
  });
  after(() => d?.stop());

  test('import --user-net --start --virt-type qemu: defined, running, its volume in the user\'s pool, files owned by the user', async (t) => {
    if (!d) return t.skip(skip);
    const app = await buildAppliance({ dir: join(d.dir, 'pkg'), name: 'sess' });
    const args = ['import', app.ova!, '-c', d.uri, '--pool', d.pool.name, '--name', 'sess-vm', '--user-net', '--start', '--virt-type', 'qemu', '--json'];
    const r = await execa(...d.cli(args), { reject: false, timeout: 120_000, stdin: 'ignore' });
    assert.equal(r.exitCode, 0, `${r.stdout}\n${r.stderr}`);
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { kind: string; result: { domain: string; defined: boolean; started: boolean; volumes: { path: string }[] } };
    assert.equal(result.kind, 'result');
    assert.deepEqual([result.result.domain, result.result.defined, result.result.started], ['sess-vm', true, true]);
    assert.equal((await d.virsh('domstate', 'sess-vm')).stdout.trim(), 'running');
    const xml = (await d.virsh('dumpxml', 'sess-vm')).stdout;
    assert.match(xml, /<interface type=['"]user['"]/, 'the NIC uses user-mode networking');
    assert.match(xml, new RegExp(`<source pool=['"]${d.pool.name}['"] volume=['"]sess-vm-vmdisk1\\.qcow2['"]`));
    const files = await readdir(d.pool.path);
    assert.deepEqual(files, ['sess-vm-vmdisk1.qcow2']);
    const owner = await execa('stat', ['-c', '%u', join(d.pool.path, files[0]!)]);
    assert.equal(Number(owner.stdout), d.uid, 'the volume belongs to the unprivileged user');
    assert.equal((await d.virsh('list', '--all', '--name')).stdout.trim(), 'sess-vm');
  });
});
