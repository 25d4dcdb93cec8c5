// Import into a libvirt `disk` pool (partitions of a loop device): raw data on a partition, the domain boots, export and re-import give the same bytes; the free-space check counts whole partitions.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildAppliance } from '../../scripts/appliance.js';
import { closeScratch, openScratch, removeDomain, runCli, waitForText } from '../commands/helpers.js';
import { diskPool, loopDevicesMissing, type DiskPool } from '../harness/block-pools.js';
import { TEST_URI, uniqueName, type ScratchPool } from '../libvirt/harness.js';
import { Connection } from '../../src/libvirt/index.js';
import { createTarget, openPool } from '../../src/storage/volumes.js';

/** The volumes (partitions) of a pool, after a refresh: name and path. */
async function partitions(pool: string): Promise<{ name: string; path: string }[]> {
  await execa('virsh', ['-c', TEST_URI, 'pool-refresh', pool]);
  const out = String((await execa('virsh', ['-c', TEST_URI, 'vol-list', pool])).stdout);
  return [...out.matchAll(/^\s*(\S+)\s+(\/dev\/\S+)\s*$/gm)].map((m) => ({ name: m[1]!, path: m[2]! }));
}

describe('disk pools', async () => {
  const skip = await loopDevicesMissing();
  let pool: DiskPool | undefined;
  let small: DiskPool | undefined;
  let scratch: ScratchPool | undefined;
  let work: string | undefined;
  const domains: string[] = [];

  before(async () => {
    if (skip) return;
    ({ pool: scratch, work } = await openScratch('disk-pool', { network: true }));
    pool = await diskPool(256 * 2 ** 20);
    small = await diskPool(64 * 2 ** 20);
  });
  after(async () => {
    for (const d of domains) await removeDomain(d);
    await pool?.cleanup();
    await small?.cleanup();
    await closeScratch(scratch, work, []);
  });

  test('imports the boot OVA onto a new partition (raw, named after it), boots from it, and exports and re-imports it identically', { skip }, async () => {
    const name = uniqueName('disk-pool');
    const marker = `MARKER-DISKPOOL-${Date.now()}`;
    const app = await buildAppliance({ dir: join(work!, name), marker });
    const serialLog = join(work!, `${name}.serial.log`);
    domains.push(name);
    const r = await runCli(['import', app.ova!, '--pool', pool!.name, '--name', name, '--start', '--virt-type', 'qemu', '--serial-log', serialLog]);
    assert.equal(r.code, 0, r.stderr);
    const first = `${pool!.device.replace('/dev/', '')}p1`;
    assert.deepEqual(await partitions(pool!.name), [{ name: first, path: `/dev/${first}` }]);
    assert.match(r.stderr, new RegExp(`disk ${first}: written here`), 'a local disk pool is written in place, not streamed');
    const seen = await waitForText(serialLog, marker, 60_000);
    assert.ok(seen.found, `marker not on the serial console after ${seen.elapsedMs} ms; got: ${JSON.stringify(seen.content)}`);
    const xml = String((await execa('virsh', ['-c', TEST_URI, 'dumpxml', name])).stdout);
    assert.match(xml, /<driver name='qemu' type='raw'\/>/);
    assert.match(xml, new RegExp(`<source pool='${pool!.name}' volume='${first}'`));

    await execa('virsh', ['-c', TEST_URI, 'destroy', name]);
    const ova = join(work!, `${name}-export.ova`);
    const exported = await runCli(['export', name, '-o', ova]);
    assert.equal(exported.code, 0, exported.stderr);
    const again = uniqueName('disk-pool-again');
    domains.push(again);
    const back = await runCli(['import', ova, '--pool', pool!.name, '--name', again, '--virt-type', 'qemu']);
    assert.equal(back.code, 0, back.stderr);
    const second = `${pool!.device.replace('/dev/', '')}p2`;
    assert.deepEqual((await partitions(pool!.name)).map((p) => p.name), [first, second]);
    // The partitions are rounded up to the label's alignment; compare reads the longer tail as zeros.
    const cmp = await execa('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', `/dev/${first}`, `/dev/${second}`], { reject: false });
    assert.equal(cmp.exitCode, 0, `qemu-img compare: ${cmp.stdout} ${cmp.stderr}`);
  });

  test('refuses a disk larger than the disk pool\'s free space before making any partition (exit 4)', { skip }, async () => {
    const name = uniqueName('disk-pool-full');
    const app = await buildAppliance({ dir: join(work!, name), diskSizeBytes: 128 * 2 ** 20 });
    const r = await runCli(['import', app.ova!, '--pool', small!.name, '--name', name, '--virt-type', 'qemu']);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, new RegExp(`needs 134217728 bytes \\(128\\.0 MiB\\) but pool "${small!.name}" has only \\d+ bytes \\(6\\d\\.\\d MiB\\) free`));
    assert.deepEqual(await partitions(small!.name), []);
  });

  test('refuses a qcow2 volume format in a disk pool, naming what it takes', { skip }, async () => {
    const name = uniqueName('disk-pool-qcow2');
    const app = await buildAppliance({ dir: join(work!, name) });
    const r = await runCli(['import', app.ova!, '--pool', small!.name, '--name', name, '--format', 'qcow2', '--dry-run']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`storage pool "${small!.name}" \\(type disk\\) takes raw volumes, not qcow2`));
  });
});

describe('a disk pool volume made by import is removed again', async () => {
  const skip = await loopDevicesMissing();
  let pool: DiskPool | undefined;
  before(async () => {
    if (!skip) pool = await diskPool(64 * 2 ** 20);
  });
  after(async () => {
    await pool?.cleanup();
  });

  test('removes its partition even where libvirt cannot (a loop device: libvirt runs "parted rm pN")', { skip }, async () => {
    const conn = Connection.open(TEST_URI);
    try {
      const store = await openPool(conn, pool!.name);
      const name = `${pool!.device.replace('/dev/', '')}p1`;
      const created = await createTarget(store, name, 'raw', 2 ** 20, { volumeFormatType: 'none', partitionOf: pool!.device });
      assert.deepEqual((await partitions(pool!.name)).map((p) => p.name), [name]);
      await created.remove();
      assert.deepEqual(await partitions(pool!.name), []);
      const table = String((await execa('parted', ['-s', pool!.device, 'print'])).stdout);
      assert.doesNotMatch(table, /^\s*1\s/m, table);
    } finally {
      conn.close();
    }
  });
});
