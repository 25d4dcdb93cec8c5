// Import modes on a real libvirtd: --print-xml, --dry-run, --json, --output-dir, and usage errors.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildAppliance, type ApplianceResult } from '../../scripts/appliance.js';
import { uniqueName, TEST_URI, type ScratchPool } from '../libvirt/harness.js';
import { closeScratch, domainExists, openScratch, poolVolumes, runCli } from './helpers.js';

describe('import modes', () => {
  let pool: ScratchPool;
  let work: string;
  let app: ApplianceResult;
  const domains: string[] = [];

  before(async () => {
    ({ pool, work } = await openScratch('modes'));
    app = await buildAppliance({ dir: join(work, 'app'), name: 'modes', controller: 'pvscsi' });
  });
  after(async () => {
    await closeScratch(pool, work, domains);
  });

  test('--print-xml prints a domain that libvirt validates and creates nothing', async () => {
    const name = uniqueName('printxml');
    const r = await runCli(['import', app.ova!, '--pool', pool.name, '--name', name, '--virt-type', 'qemu', '--print-xml']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^<domain type="qemu">|^<domain type='qemu'>/);
    assert.match(r.stdout, /model="vmpvscsi"|model='vmpvscsi'/);
    assert.match(r.stdout, new RegExp(`volume="${name}-vmdisk1.qcow2"`));
    const file = join(work, `${name}.xml`);
    await (await import('node:fs/promises')).writeFile(file, r.stdout);
    await execa('virt-xml-validate', [file, 'domain']);
    assert.deepEqual(await poolVolumes(pool), []);
    assert.equal(domainExists(name), false);
  });

  test('--print-xml works from the descriptor alone when the disk file is absent', async () => {
    const r = await runCli(['import', app.ovf, '--virt-type', 'qemu', '--print-xml']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /<memory unit="KiB">65536<\/memory>/);
  });

  test('--dry-run checks the host and creates nothing', async () => {
    const name = uniqueName('dryrun');
    const r = await runCli(['import', app.ova!, '--pool', pool.name, '--name', name, '--virt-type', 'qemu', '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Dry run: nothing was created/);
    assert.deepEqual(await poolVolumes(pool), []);
    assert.equal(domainExists(name), false);
  });

  test('--json prints one JSON event per line and a final result naming the domain and volume', async () => {
    const name = uniqueName('json');
    domains.push(name);
    const r = await runCli(['import', app.ova!, '--pool', pool.name, '--name', name, '--virt-type', 'qemu', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; result?: { domain: string; defined: boolean; volumes: { name: string; capacityBytes: number }[] } });
    assert.ok(events.some((e) => e.kind === 'stage'));
    const last = events[events.length - 1]!;
    assert.equal(last.kind, 'result');
    assert.equal(last.result!.domain, name);
    assert.equal(last.result!.defined, true);
    assert.deepEqual(last.result!.volumes.map((v) => [v.name, v.capacityBytes]), [[`${name}-vmdisk1.qcow2`, 1048576]]);
    assert.equal(domainExists(name), true);
  });

  test('--output-dir writes the disk and DOMAIN.xml into a directory and defines the domain on file sources', async () => {
    const name = uniqueName('outdir');
    const out = join(work, 'out');
    await mkdir(out);
    domains.push(name);
    const r = await runCli(['import', app.ova!, '--output-dir', out, '--name', name, '--virt-type', 'qemu', '--format', 'raw']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await readdir(out)).sort(), [`${name}-vmdisk1.img`, `${name}.xml`]);
    const xml = await readFile(join(out, `${name}.xml`), 'utf8');
    assert.ok(xml.includes(`file="${join(out, `${name}-vmdisk1.img`)}"`), xml);
    const cmp = await execa('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', app.rawDisk, join(out, `${name}-vmdisk1.img`)], { reject: false });
    assert.equal(cmp.exitCode, 0, String(cmp.stdout));
    const dumped = String((await execa('virsh', ['-c', TEST_URI, 'dumpxml', name])).stdout);
    assert.match(dumped, /<disk type='file' device='disk'>/);
  });

  test('usage errors exit 2 and a file that is no package exits 3', async () => {
    assert.equal((await runCli(['import'])).code, 2);
    assert.equal((await runCli(['import', app.ova!, '--no-such-option'])).code, 2);
    assert.equal((await runCli(['import', app.ova!, '--network', 'novalue'])).code, 2);
    const notPackage = await runCli(['import', app.rawDisk, '--print-xml']);
    assert.equal(notPackage.code, 3);
    assert.match(notPackage.stderr, /neither an OVA \(tar archive\) nor an \.ovf descriptor/);
  });

  test('a library error that concerns an option is printed with its flag', async () => {
    const vm = await runCli(['import', app.ova!, '--print-xml', '--vm', 'nonesuch']);
    assert.equal(vm.code, 2);
    assert.match(vm.stderr, /no VirtualSystem has ovf:id "nonesuch" \(found: modes\); choose one of them with --vm\n/);
  });

  test('inspect lists the domain, disks and NICs and says the network was defaulted', async () => {
    const r = await runCli(['inspect', app.ova!]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Domain name: +modes/);
    assert.match(r.stdout, /sda +disk +bus scsi +scsi0 \(vmpvscsi\)/);
    assert.match(r.stdout, /vmxnet3 .*OVF network "VM Network" -> network default \(default: map it with --network or --bridge\)/);
    const j = await runCli(['inspect', app.ova!, '--json', '--network', 'VM Network=lan']);
    const report = JSON.parse(j.stdout) as { nics: { attachTo: string; defaulted: boolean }[]; domain: { memoryBytes: number } };
    assert.deepEqual(report.nics.map((n) => [n.attachTo, n.defaulted]), [['network lan', false]]);
    assert.equal(report.domain.memoryBytes, 64 * 2 ** 20);
  });
});
