// exportDomain as a library: usage errors name the option (never a CLI flag) before libvirt is
// opened; no signal handler unless asked; an aborted export leaves nothing behind.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { existsSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { UsageError } from '../../src/errors.js';
import { exportDomain, type ExportOptions } from '../../src/export/index.js';
import type { ReportEvent, Reporter } from '../../src/report.js';
import { ensureLibvirtd, TEST_URI, uniqueName } from '../libvirt/harness.js';
import { withTempDir } from '../ovf/helpers.js';

/** A reporter that calls `onEvent` for each event. */
const watching = (onEvent: (e: ReportEvent) => void): Reporter => ({ warnings: [], emit: onEvent });

describe('exportDomain: usage checks come first', () => {
  const cases: [string, Partial<ExportOptions>, string][] = [
    ['a signing key without its certificate', { signKey: '/k.pem' }, 'signCert'],
    ['a certificate without its key', { signCert: '/c.pem' }, 'signKey'],
    ['signing without a manifest', { signKey: '/k.pem', signCert: '/c.pem', manifest: 'none' }, 'manifest'],
    ['a deflate level of 10', { compressLevel: 10 }, 'compressLevel'],
    ['an unknown profile', { profile: 'nonesuch' }, 'profile'],
    ['an output in a missing directory', { output: '/nonexistent-virt-ovf/x.ova' }, 'output'],
  ];
  for (const [what, opts, option] of cases) {
    it(`refuses ${what} with a UsageError whose option is ${option}, without a flag in the message, before connecting`, async () => {
      // The URI is refused by libvirt: reaching the connection would throw a LibvirtError instead.
      const run = exportDomain({ domain: 'x', output: '/tmp/x.ova', connect: 'bogus:///nowhere', ...opts });
      await assert.rejects(run, (err: unknown) => err instanceof UsageError && err.option === option && !/--/.test(err.message));
    });
  }
});

describe('exportDomain on libvirtd', () => {
  before(ensureLibvirtd);

  it('installs no SIGINT handler unless asked, and an aborted export removes its output', async () => {
    await withTempDir(async (dir) => {
      const name = uniqueName('libexport');
      const disk = join(dir, 'disk.qcow2');
      await execa('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '64M']);
      await execa('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x5a 0 2M', disk]);
      const xml = join(dir, 'domain.xml');
      writeFileSync(xml, `<domain type='qemu'><name>${name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os><devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${disk}'/><target dev='sda' bus='sata'/></disk></devices></domain>`);
      await execa('virsh', ['-c', TEST_URI, 'define', xml]);
      try {
        const baseline = process.listenerCount('SIGINT');
        const plain: number[] = [];
        const r = await exportDomain({ domain: name, output: join(dir, 'plain.ova'), connect: TEST_URI }, watching(() => plain.push(process.listenerCount('SIGINT'))));
        assert.equal(r.kind, 'ova');
        assert.ok(existsSync(r.output));
        assert.deepEqual(r.files.map((f) => f.name), [`${name}.ovf`, `${name}.mf`, `${name}-disk1.vmdk`]);
        assert.ok(plain.length > 0 && plain.every((n) => n === baseline), 'no SIGINT handler while exporting');
        const handled: number[] = [];
        await exportDomain({ domain: name, output: join(dir, 'handled/'), connect: TEST_URI, handleSignals: true }, watching(() => handled.push(process.listenerCount('SIGINT'))));
        assert.ok(handled.length > 0 && handled.every((n) => n === baseline + 1), 'one SIGINT handler while exporting with handleSignals');
        assert.equal(process.listenerCount('SIGINT'), baseline, 'and none after');
        const controller = new AbortController();
        const reason = new Error('stopped by the caller');
        const aborted = exportDomain({ domain: name, output: join(dir, 'aborted.ova'), connect: TEST_URI, signal: controller.signal }, watching((e) => e.kind === 'stage' && e.message.startsWith('Writing') && controller.abort(reason)));
        await assert.rejects(aborted, (err: unknown) => err === reason);
        assert.deepEqual((await readdir(dir)).filter((f) => f.startsWith('aborted') || f.startsWith('.virt-ovf-export-')), [], 'no OVA, no .part, no work directory');
      } finally {
        await execa('virsh', ['-c', TEST_URI, 'undefine', name], { reject: false });
      }
    });
  });
});
