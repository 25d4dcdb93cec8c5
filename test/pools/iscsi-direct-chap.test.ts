// An iscsi-direct pool whose target requires CHAP: the password comes from the pool's libvirt secret into
// a 0600 file QEMU reads, never onto a command line; a wrong password is QEMU's login failure.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ToolError } from '../../src/errors.js';
import { iscsiLocation, openIscsiImage, openIscsiSink } from '../../src/transfer/iscsi.js';
import { rangeIsZero, writeZeroes } from '../../src/transfer/qemu-io.js';
import { MiB, openIscsiDirectPool, type IscsiDirectPool } from './iscsi-fixture.js';

const LUN_BYTES = 8 * MiB;
const CHAP = { user: 'virt-ovf-chap', password: `pw-${randomBytes(9).toString('hex')}` };

/** Every process's command line, read now (processes that exit meanwhile are skipped). */
async function commandLines(): Promise<string[]> {
  const pids = (await readdir('/proc')).filter((p) => /^\d+$/.test(p));
  const lines = await Promise.all(pids.map((p) => readFile(`/proc/${p}/cmdline`, 'latin1').catch(() => '')));
  return lines.map((l) => l.replaceAll('\0', ' '));
}

describe('iscsi-direct pools with CHAP', () => {
  let pool: IscsiDirectPool | string;

  before(async () => {
    pool = await openIscsiDirectPool({ lunSizes: [LUN_BYTES, LUN_BYTES], chap: CHAP });
  });
  after(async () => {
    if (typeof pool !== 'string') await pool?.close();
  });

  test('the pool logs in with its secret; without CHAP the target refuses the login', async (t) => {
    if (typeof pool === 'string') return t.skip(pool);
    assert.deepEqual(pool.store.definition.auth, { username: CHAP.user, secretType: 'iscsi', usage: pool.secretUsage }, "<auth type='chap'> names a secret of usage type iscsi");
    const r = await execa('qemu-img', ['info', pool.target.url(1)], { reject: false });
    assert.notEqual(r.exitCode, 0, 'tgtd accepted a login without CHAP');
    assert.match(String(r.stderr), /Authentication failure/);
  });

  test('a sink writes the LUN with the password of the libvirt secret, which is on no command line and whose file is gone after', async (t) => {
    if (typeof pool === 'string') return t.skip(pool);
    const { target, store, conn } = pool;
    await writeFile(target.luns[0]!.path, Buffer.alloc(LUN_BYTES, 0xee));
    const expected = Buffer.alloc(LUN_BYTES);
    const data = randomBytes(2 * MiB);
    data.copy(expected, MiB);
    // Watch every command line and /dev/shm while the sink is open and writing.
    let done = false;
    const leaks: string[] = [];
    const seenKeys = new Set<string>();
    const watch = (async () => {
      while (!done) {
        for (const line of await commandLines()) {
          if (line.includes(CHAP.password)) leaks.push(line);
          const key = /qemu-nbd .*--object secret,id=virt-ovf-iscsi-password,file=(\/dev\/shm\/virt-ovf-key-[^/ ]+)\/key .*"password-secret":"virt-ovf-iscsi-password"/.exec(line);
          if (key) seenKeys.add(key[1]!);
        }
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    try {
      const sink = await openIscsiSink(conn, iscsiLocation(store, 'unit:0:0:1'), { label: 'disk 1' });
      await sink.zero(0, MiB);
      for (let at = 0; at < data.length; at += 64 * 1024) await sink.write(MiB + at, data.subarray(at, at + 64 * 1024));
      await sink.finish();
    } finally {
      done = true;
      await watch;
    }
    assert.deepEqual(leaks, [], 'the CHAP password appeared on a command line');
    assert.ok(seenKeys.size > 0, "the scans of /proc never saw qemu-nbd logging in with the secret object's file in /dev/shm");
    for (const dir of seenKeys) assert.equal(existsSync(dir), false, `the key directory ${dir} outlived the sink`);
    // Read it back through QEMU iscsi with the same secret object, and from tgtd's backing file.
    const want = join(target.dir, 'expected.raw');
    await writeFile(want, expected);
    const image = await openIscsiImage(conn, iscsiLocation(store, 'unit:0:0:1'));
    try {
      assert.equal(image.objects.length, 1);
      assert.match(image.objects[0]!, /^secret,id=virt-ovf-iscsi-password,file=\/dev\/shm\/virt-ovf-key-[^,]+\/key$/);
      assert.ok(!image.filename.includes(CHAP.password) && !image.objects[0]!.includes(CHAP.password));
      const cmp = await execa('qemu-img', ['compare', ...image.objects.flatMap((o) => ['--object', o]), '-f', 'raw', '-F', 'raw', want, image.filename], { reject: false });
      assert.equal(cmp.exitCode, 0, `qemu-img compare (through iSCSI with CHAP): ${cmp.stdout} ${cmp.stderr}`);
      assert.equal(await rangeIsZero(image, 0, MiB), true);
      assert.equal(await rangeIsZero(image, MiB, MiB), false);
      await writeZeroes(image, MiB, MiB);
      assert.equal(await rangeIsZero(image, 0, 2 * MiB), true, 're-blanked through the CHAP login');
    } finally {
      await image.release();
    }
    const backing = await execa('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', want, target.luns[0]!.path], { reject: false });
    assert.equal(backing.exitCode, 1, 'the backing file differs from the written bytes only where writeZeroes re-blanked');
    assert.match(String(backing.stdout), /Content mismatch at offset 1048576/);
  });

  test('a wrong password in the secret is QEMU login failure, as a ToolError naming the LUN without the password', async (t) => {
    if (typeof pool === 'string') return t.skip(pool);
    const { host, store, conn } = pool;
    await writeFile(join(host.dir, 'wrong.xml'), `<secret ephemeral='no' private='no'><usage type='iscsi'><target>wrong-chap</target></usage></secret>`);
    const uuid = /([0-9a-f-]{36})/.exec((await host.virsh('secret-define', join(host.dir, 'wrong.xml'))).stdout)![1]!;
    await writeFile(join(host.dir, 'wrong-password'), 'not-the-password', { mode: 0o600 });
    assert.equal((await host.virsh('secret-set-value', uuid, '--file', join(host.dir, 'wrong-password'), '--plain')).code, 0);
    const loc = iscsiLocation(store, 'unit:0:0:2');
    await assert.rejects(openIscsiSink(conn, { ...loc, auth: { ...loc.auth!, uuid } }, { label: 'disk 2' }), (err: unknown) => {
      assert.ok(err instanceof ToolError, String(err));
      assert.match(err.message, /iscsi:\/\/127\.0\.0\.1:\d+\/\S+\/2/);
      assert.match(err.message, /Authentication failure/);
      assert.ok(!err.message.includes('not-the-password') && !err.command.includes('not-the-password'));
      return true;
    });
    await assert.rejects(openIscsiSink(conn, { ...loc, auth: { ...loc.auth!, usage: 'no-such-secret' } }, { label: 'disk 2' }), /libvirt iscsi secret "no-such-secret" of user "virt-ovf-chap" does not exist/);
  });
});
