// A bootable disk written onto a CHAP-protected iscsi-direct LUN through openIscsiSink boots a TCG domain
// whose disk is <disk type='volume'> on the pool (libvirt logs QEMU in with the pool's initiator and secret).
import assert from 'node:assert/strict';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildAppliance } from '../../scripts/appliance.js';
import { iscsiLocation, openIscsiSink } from '../../src/transfer/iscsi.js';
import { waitForText } from '../commands/helpers.js';
import { MiB, openIscsiDirectPool, type IscsiDirectPool } from './iscsi-fixture.js';

describe('a domain boots from an iscsi-direct LUN', () => {
  let pool: IscsiDirectPool | string;

  before(async () => {
    pool = await openIscsiDirectPool({ lunSizes: [4 * MiB], chap: { user: 'virt-ovf-boot', password: `boot-${process.pid}-${Date.now()}` } });
  });
  after(async () => {
    if (typeof pool !== 'string') await pool?.close();
  });

  test("a <disk type='volume'> naming the LUN boots the guest written through the sink (CHAP login by libvirt)", async (t) => {
    if (typeof pool === 'string') return t.skip(pool);
    const { host, target, store, conn } = pool;
    const marker = `MARKER-ISCSI-DIRECT-${Date.now()}`;
    const app = await buildAppliance({ dir: join(target.dir, 'appliance'), marker, ova: false, manifest: 'none' });
    // Old data on the LUN first: the boot sector must come from the sink, not from a blank LUN.
    await writeFile(target.luns[0]!.path, Buffer.alloc(4 * MiB, 0xcc));
    const sink = await openIscsiSink(conn, iscsiLocation(store, 'unit:0:0:1'), { label: 'boot disk' });
    const fh = await open(app.rawDisk, 'r');
    try {
      const chunk = Buffer.alloc(256 * 1024);
      for (let at = 0; ; at += chunk.length) {
        const { bytesRead } = await fh.read(chunk, 0, chunk.length, at);
        if (bytesRead === 0) break;
        const part = chunk.subarray(0, bytesRead);
        if (part.every((b) => b === 0)) await sink.zero(at, bytesRead);
        else await sink.write(at, Buffer.from(part));
      }
    } finally {
      await fh.close();
    }
    await sink.finish();

    const name = 'isd-boot';
    const serial = join(target.dir, `${name}.serial.log`);
    const disk = `<disk type='volume' device='disk'><driver name='qemu' type='raw'/><source pool='${pool.name}' volume='unit:0:0:1'/><target dev='sda' bus='sata'/></disk>`;
    const xml = `<domain type='qemu'><name>${name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os><devices>${disk}<serial type='file'><source path='${serial}'/><target port='0'/></serial></devices></domain>`;
    await writeFile(join(host.dir, `${name}.xml`), xml);
    t.after(async () => {
      await host.virsh('destroy', name);
      await host.virsh('undefine', name);
    });
    const defined = await host.virsh('define', join(host.dir, `${name}.xml`));
    assert.equal(defined.code, 0, defined.stderr);
    const started = await host.virsh('start', name);
    assert.equal(started.code, 0, started.stderr);
    const seen = await waitForText(serial, marker, 60_000);
    assert.ok(seen.found, `marker not on the serial console after ${seen.elapsedMs} ms; got: ${JSON.stringify(seen.content)}`);
    const live = (await host.virsh('dumpxml', name)).stdout;
    assert.match(live, new RegExp(`<source pool='${pool.name}' volume='unit:0:0:1'`));
  });
});
