// The backup job API on a real libvirtd: a push-mode backup of a running domain's disk.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Connection, defineDomain, type Domain } from '../../src/libvirt/index.js';
import { scratchPool, uniqueName, TEST_URI, type ScratchPool } from './harness.js';

describe('libvirt backup jobs', () => {
  let pool: ScratchPool;
  let conn: Connection;
  let domain: Domain | undefined;

  before(async () => {
    pool = await scratchPool();
    conn = Connection.open(TEST_URI);
  });
  after(async () => {
    if (domain) {
      if (domain.isActive()) await domain.destroy();
      await domain.undefine(0);
      domain.free();
    }
    conn.close();
    await pool.cleanup();
  });

  it('copies a running domain disk to a target file and reports the job completed', async () => {
    const src = join(pool.path, 'src.qcow2');
    const out = join(pool.path, 'out.qcow2');
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', src, '16M']);
    await execa('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x5a 1M 64k', src]);
    const name = uniqueName('backup');
    domain = await defineDomain(
      conn,
      `<domain type='qemu'><name>${name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='q35'>hvm</type></os>` +
        `<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${src}'/><target dev='sda' bus='sata'/></disk></devices></domain>`,
    );
    await domain.start();
    await domain.beginBackup(`<domainbackup mode='push'><disks><disk name='sda' backup='yes' type='file'><driver type='qcow2'/><target file='${out}'/></disk></disks></domainbackup>`);
    // A 16 MiB disk may be copied before the first poll; the completed record says how it ended.
    let job = await domain.jobInfo();
    for (let i = 0; i < 300 && job.type !== 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      job = await domain.jobInfo();
    }
    assert.equal(job.type, 0, 'the job ended');
    assert.equal(await domain.completedJobType(), 3, 'VIR_DOMAIN_JOB_COMPLETED');
    assert.ok(domain.isActive(), 'the guest kept running');
    await domain.destroy();
    const cmp = await execa('qemu-img', ['compare', '-f', 'qcow2', '-F', 'qcow2', src, out], { reject: false });
    assert.equal(cmp.exitCode, 0, String(cmp.stdout));
  });
});
