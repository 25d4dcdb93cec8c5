// Pool types that cannot take new volumes (iscsi, iscsi-direct, scsi, mpath) are refused for a new volume with the reason and a remedy (an existing volume named with --volume, or another pool), from mappings/pools.json.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { join } from 'node:path';
import { after, before, describe, it, test } from 'node:test';
import { buildAppliance } from '../../scripts/appliance.js';
import { LibvirtSetupError } from '../../src/errors.js';
import { creatingPoolRule, poolRule, volumeFormat } from '../../src/import/targets.js';
import { loadMappings } from '../../src/mapping/load.js';
import { closeScratch, openScratch, runCli } from '../commands/helpers.js';
import { TEST_URI, uniqueName, type ScratchPool } from '../libvirt/harness.js';

const mappings = loadMappings();

describe('pool types import cannot write', () => {
  for (const type of ['iscsi', 'iscsi-direct', 'scsi', 'mpath']) {
    it(`refuses a ${type} pool with exit 4, saying libvirt cannot create volumes there and what to do instead`, () => {
      assert.throws(
        () => creatingPoolRule('san', type, mappings.pools, 'vmdisk1 (sda)'),
        (err: unknown) => {
          assert.ok(err instanceof LibvirtSetupError);
          assert.equal(err.exitCode, 4);
          assert.equal(err.option, 'pool');
          assert.match(err.message, new RegExp(`^cannot import vmdisk1 \\(sda\\) into storage pool "san" \\(type ${type}\\): .*(cannot create a volume there); name an existing \\w+ for each disk with --volume DISK=VOLUME .*, or import into a pool that creates volumes \\(dir, logical, disk, rbd, \\.\\.\\.\\)`));
          assert.equal(poolRule('san', type, mappings.pools).createsVolumes, false, 'the rule itself is no refusal: existing volumes are taken');
          return true;
        },
      );
    });
  }

  it('refuses a pool type the table does not know, listing the known ones', () => {
    assert.throws(() => poolRule('p', 'sheepdog', mappings.pools), /storage pool "p" is of type sheepdog, which virt-ovf does not know \(known: dir, fs, netfs, .*rbd/);
  });

  it('takes the format and default of each pool type from pools.json', () => {
    const format = (poolType: string, wanted?: 'qcow2' | 'raw') => volumeFormat({ kind: 'pool', pool: 'p', poolType }, mappings, wanted);
    assert.deepEqual(['dir', 'fs', 'netfs', 'vstorage', 'logical', 'zfs', 'disk', 'rbd'].map((t) => format(t)), ['qcow2', 'qcow2', 'qcow2', 'qcow2', 'raw', 'raw', 'raw', 'raw']);
    assert.equal(format('dir', 'raw'), 'raw');
    assert.throws(() => format('rbd', 'qcow2'), /storage pool "p" \(type rbd\) takes raw volumes, not qcow2/);
  });
});

describe('an mpath pool on libvirtd', () => {
  let scratch: ScratchPool | undefined;
  let work: string | undefined;
  const pool = uniqueName('virt-ovf-test-mpath');
  before(async () => {
    ({ pool: scratch, work } = await openScratch('mpath'));
  });
  after(async () => {
    await execa('virsh', ['-c', TEST_URI, 'pool-destroy', pool], { reject: false });
    await closeScratch(scratch, work, []);
  });

  test('is refused before anything is created, with the remedy (exit 4)', async (t) => {
    const started = await execa('virsh', ['-c', TEST_URI, 'pool-create-as', pool, 'mpath', '--target', '/dev/mapper'], { reject: false });
    if (started.exitCode !== 0) return t.skip(`this libvirtd cannot start an mpath pool: ${String(started.stderr).trim()}`);
    const app = await buildAppliance({ dir: join(work!, 'app') });
    const r = await runCli(['import', app.ova!, '--pool', pool, '--name', uniqueName('mpath'), '--dry-run']);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, new RegExp(`cannot import vmdisk1 \\(sda\\) into storage pool "${pool}" \\(type mpath\\): an mpath pool only exposes the multipath devices the host has; libvirt cannot create a volume there; name an existing device for each disk with --volume DISK=VOLUME`));
    assert.doesNotMatch(r.stderr, /this is a bug/);
    const named = await runCli(['import', app.ova!, '--pool', pool, '--name', uniqueName('mpath'), '--volume', 'sda=dm-9', '--dry-run']);
    assert.equal(named.code, 4, named.stderr);
    assert.match(named.stderr, new RegExp(`pool "${pool}" has no volume "dm-9" \\(--volume for disk vmdisk1 \\(sda\\); its volumes: `));
  });
});
