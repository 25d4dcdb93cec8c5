// iscsi-direct pools on a real tgtd target and a real libvirtd: the pool's LUNs located from its XML and
// volume names, written by qemu-nbd over QEMU's iscsi driver (old data overwritten, zero ranges and holes
// written), checked and re-blanked with qemu-io.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LibvirtSetupError, ToolError, UsageError } from '../../src/errors.js';
import { lookupPool } from '../../src/libvirt/index.js';
import { iscsiLocation, iscsiTransfer, openIscsiImage, openIscsiSink } from '../../src/transfer/iscsi.js';
import { localQemuImage } from '../../src/transfer/qemu-image.js';
import { rangeIsZero, virtualSizeBytes, writeZeroes } from '../../src/transfer/qemu-io.js';
import { INITIATOR, MiB, openIscsiDirectPool, type IscsiDirectPool } from './iscsi-fixture.js';

const LUN_BYTES = 16 * MiB;

/** Fills a file with byte `value` (old data a LUN held before the import). */
async function fill(path: string, bytes: number, value: number): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    const chunk = Buffer.alloc(MiB, value);
    for (let at = 0; at < bytes; at += MiB) await fh.write(chunk, 0, Math.min(MiB, bytes - at), at);
  } finally {
    await fh.close();
  }
}

describe('iscsi-direct pools: LUNs written through QEMU iscsi', () => {
  let pool: IscsiDirectPool | string;

  before(async () => {
    pool = await openIscsiDirectPool({ lunSizes: [LUN_BYTES, LUN_BYTES, 4 * MiB] });
  });
  after(async () => {
    if (typeof pool !== 'string') await pool?.close();
  });

  test('the pool XML gives the portal, target and initiator; volume names and keys give the LUN', (t) => {
    if (typeof pool === 'string') return t.skip(pool);
    const { target, store } = pool;
    assert.equal(store.definition.type, 'iscsi-direct');
    assert.deepEqual(store.definition.devices, [target.iqn]);
    assert.deepEqual(store.definition.hosts, [{ name: '127.0.0.1', port: target.port }]);
    assert.equal(store.definition.initiator, INITIATOR);
    assert.equal(store.definition.auth, undefined);
    const vol = lookupPool(pool.conn, pool.name)!.lookupVolume('unit:0:0:2')!;
    const path = vol.path();
    vol.free();
    assert.equal(path, `ip-127.0.0.1:${target.port}-iscsi-${target.iqn}-lun-2`, 'libvirt names the volume path after portal, target and LUN');
    const expected = { portal: { host: '127.0.0.1', port: target.port }, target: target.iqn, lun: 2, initiator: INITIATOR };
    assert.deepEqual(iscsiLocation(store, 'unit:0:0:2', path), expected);
    assert.deepEqual(iscsiLocation(store, 'unit:0:0:2'), expected);
    assert.deepEqual(iscsiLocation(store, path), expected, 'the key alone names the LUN');
  });

  test('a volume that is not a LUN of the target, or whose name and path disagree, is refused with its name', (t) => {
    if (typeof pool === 'string') return t.skip(pool);
    const { target, store } = pool;
    assert.throws(() => iscsiLocation(store, 'vm-disk1.img'), (err: unknown) => {
      assert.ok(err instanceof LibvirtSetupError);
      assert.equal(err.exitCode, 4);
      assert.equal(err.option, 'volume');
      assert.match(err.message, /volume "vm-disk1\.img" of pool "isd" is not a LUN of iSCSI target iqn\.2026-12\.test\.virt-ovf:\S+ at 127\.0\.0\.1:\d+: expected a name or path unit:0:0:N or ip-/);
      return true;
    });
    assert.throws(() => iscsiLocation(store, `ip-127.0.0.1:${target.port}-iscsi-iqn.2026-12.other:t-lun-1`), /is not a LUN of iSCSI target/);
    assert.throws(() => iscsiLocation(store, 'unit:0:0:1', `ip-127.0.0.1:${target.port}-iscsi-${target.iqn}-lun-2`), /names LUN 1 but its path .* names LUN 2/);
    assert.throws(() => iscsiLocation({ ...store, definition: { ...store.definition, devices: [] } }, 'unit:0:0:1'), /pool "isd" names no iSCSI target/);
    assert.throws(() => iscsiTransfer('stream', 'isd'), (err: unknown) => err instanceof UsageError && err.option === 'transfer' && /iscsi-direct pool, which libvirt cannot upload into/.test(err.message));
    assert.equal(iscsiTransfer('auto', 'isd').path, 'local');
  });

  test('a sink writes data, zero ranges and holes over old data; the LUN then equals the expected bytes', async (t) => {
    if (typeof pool === 'string') return t.skip(pool);
    const { target, store, conn } = pool;
    const lun = target.luns[0]!;
    await fill(lun.path, LUN_BYTES, 0xa5);
    const expected = Buffer.alloc(LUN_BYTES);
    const a = randomBytes(MiB + 123);
    const b = randomBytes(3 * MiB);
    const small = randomBytes(4096);
    const sink = await openIscsiSink(conn, iscsiLocation(store, 'unit:0:0:1'), { label: 'disk 1' });
    assert.equal(sink.capacityBytes, LUN_BYTES);
    await sink.write(0, a); // data
    a.copy(expected, 0);
    await sink.zero(2 * MiB, 3 * MiB); // a zero range over old data
    await sink.write(8 * MiB, b); // after a hole (5-8 MiB) never mentioned
    b.copy(expected, 8 * MiB);
    await sink.write(12 * MiB + 512, small); // small write in a hole; the tail after it is never mentioned
    small.copy(expected, 12 * MiB + 512);
    await sink.finish();
    assert.equal(sink.bytesWritten, a.length + b.length + small.length);
    const want = join(target.dir, 'expected.raw');
    await writeFile(want, expected);
    const cmp = await execa('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', want, target.url(1)], { reject: false });
    assert.equal(cmp.exitCode, 0, `qemu-img compare (through iSCSI): ${cmp.stdout} ${cmp.stderr}`);
    assert.match(String(cmp.stdout), /Images are identical/);
    const backing = await execa('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', want, lun.path], { reject: false });
    assert.equal(backing.exitCode, 0, `qemu-img compare (backing file): ${backing.stdout}`);
  });

  test('a sink that is aborted leaves qemu-nbd gone; a LUN the target does not have is refused by QEMU', async (t) => {
    if (typeof pool === 'string') return t.skip(pool);
    const { store, conn } = pool;
    const sink = await openIscsiSink(conn, iscsiLocation(store, 'unit:0:0:3'), { label: 'disk 3' });
    await sink.write(0, Buffer.alloc(4096, 1));
    await sink.abort();
    const nbd = await execa('pgrep', ['-f', `qemu-nbd.*"lun":3`], { reject: false });
    assert.equal(nbd.exitCode, 1, `qemu-nbd still runs: ${nbd.stdout}`);
    await assert.rejects(openIscsiSink(conn, iscsiLocation(store, 'unit:0:0:7'), { label: 'disk 7' }), (err: unknown) => {
      assert.ok(err instanceof ToolError, String(err));
      assert.match(err.message, /qemu-nbd could not serve iscsi:\/\/127\.0\.0\.1:\d+\/iqn\.\S+\/7/);
      return true;
    });
  });

  test('rangeIsZero and writeZeroes on a LUN: old data is seen, the first and last MiB re-blanked, the rest kept', async (t) => {
    if (typeof pool === 'string') return t.skip(pool);
    const { target, store, conn } = pool;
    const lun = target.luns[1]!;
    await fill(lun.path, LUN_BYTES, 0x5a);
    const image = await openIscsiImage(conn, iscsiLocation(store, 'unit:0:0:2'));
    try {
      assert.equal(image.label, `iscsi://127.0.0.1:${target.port}/${target.iqn}/2`);
      assert.deepEqual(image.objects, []);
      assert.equal(await virtualSizeBytes(image), LUN_BYTES, 'QEMU sees the whole LUN');
      assert.equal(await rangeIsZero(image, 0, MiB), false);
      assert.equal(await rangeIsZero(image, LUN_BYTES - MiB, MiB), false);
      await writeZeroes(image, 0, MiB);
      await writeZeroes(image, LUN_BYTES - MiB, MiB);
      assert.equal(await rangeIsZero(image, 0, MiB), true);
      assert.equal(await rangeIsZero(image, LUN_BYTES - MiB, MiB), true);
      assert.equal(await rangeIsZero(image, 0, MiB + 1), false, 'the byte after the first MiB still holds old data');
      assert.equal(await rangeIsZero(image, LUN_BYTES - MiB - 1, 1), false);
      const fh = await open(lun.path, 'r');
      const head = Buffer.alloc(MiB + 1);
      await fh.read(head, 0, head.length, 0);
      await fh.close();
      assert.ok(head.subarray(0, MiB).every((x) => x === 0) && head[MiB] === 0x5a, 'the backing file holds the same');
      await assert.rejects(rangeIsZero(image, LUN_BYTES - 512, 1024), (err: unknown) => err instanceof ToolError && /qemu-io could not read bytes .* of iscsi:\/\//.test(err.message));
    } finally {
      await image.release();
    }
  });

  test('rangeIsZero and writeZeroes on a local raw file; a missing file is a ToolError naming it', async (t) => {
    if (typeof pool === 'string') return t.skip(pool);
    const path = join(pool.target.dir, 'local.raw');
    await writeFile(path, Buffer.alloc(3 * MiB, 0x11));
    const image = localQemuImage(path);
    assert.equal(await virtualSizeBytes(image), 3 * MiB);
    assert.equal(await rangeIsZero(image, 0, MiB), false);
    await writeZeroes(image, MiB, MiB);
    assert.equal(await rangeIsZero(image, MiB, MiB), true);
    assert.equal(await rangeIsZero(image, MiB - 1, MiB + 2), false);
    assert.equal(await rangeIsZero(image, 0, 0), true);
    await assert.rejects(rangeIsZero(image, -1, 1), RangeError);
    const missing = join(pool.target.dir, 'missing.raw');
    await assert.rejects(writeZeroes(localQemuImage(missing), 0, 512), (err: unknown) => err instanceof ToolError && err.message.includes(missing) && !err.message.includes('json:'));
    await assert.rejects(virtualSizeBytes(localQemuImage(missing)), (err: unknown) => err instanceof ToolError && err.message.startsWith(`qemu-img could not read the size of ${missing}: `) && !err.message.includes('json:'));
  });
});
