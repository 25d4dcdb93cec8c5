// Export end to end on a real libvirtd: round trip through an OVA, a running domain, directories, signing, schemas.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildAppliance } from '../../scripts/appliance.js';
import { uniqueName, TEST_URI, type ScratchPool } from '../libvirt/harness.js';
import { PROJECT_ROOT } from '../ovf/helpers.js';
import { closeScratch, domainExists, openScratch, runCli, waitForText } from './helpers.js';
import { propertyKey, roundTripDescriptor } from './roundtrip-fixture.js';

const SCHEMAS = join(PROJECT_ROOT, '..', 'shared', 'schemas', 'ovf');

async function dumpxml(name: string): Promise<string> {
  return String((await execa('virsh', ['-c', TEST_URI, 'dumpxml', '--inactive', name])).stdout);
}

/** What must survive a round trip, read from libvirt's own view of the domain. */
function hardware(xml: string) {
  const all = (re: RegExp) => [...xml.matchAll(re)].map((m) => m[1]);
  return {
    vcpus: /<vcpu[^>]*>(\d+)</.exec(xml)?.[1],
    memory: /<memory unit='KiB'>(\d+)</.exec(xml)?.[1],
    firmware: /<os firmware='efi'>/.test(xml) ? 'efi' : 'bios',
    buses: all(/<target dev='[^']+' bus='([^']+)'/g),
    controllers: all(/<controller type='(?:scsi|sata)' index='\d+'(?: model='([^']+)')?/g),
    usb: all(/<controller type='usb' index='\d+'(?: model='([^']+)')?/g),
    topology: /<topology ([^>]*?)\/>/.exec(xml)?.[1],
    nicModels: all(/<model type='([^']+)'\/>/g),
    macs: all(/<mac address='([^']+)'\/>/g),
  };
}

async function schemaValid(ovf: string, version: 1 | 2): Promise<void> {
  const xsd = version === 1 ? 'ovf1-plus-vmware-wrapper.xsd' : 'dsp8023_2.0.1.xsd';
  const r = await execa('xmllint', ['--nonet', '--noout', '--schema', join(SCHEMAS, xsd), ovf], { reject: false, env: { XML_CATALOG_FILES: join(SCHEMAS, 'catalog.xml') } });
  assert.equal(r.exitCode, 0, String(r.stderr));
}

describe('export', () => {
  let pool: ScratchPool;
  let work: string;
  const domains: string[] = [];

  before(async () => {
    ({ pool, work } = await openScratch('export', { network: true }));
  });
  after(async () => {
    await closeScratch(pool, work, domains);
  });

  for (const controller of ['sata', 'pvscsi'] as const) {
    test(`round trip (${controller}): import, export to OVA, re-import: same hardware, identical disk, it boots`, async () => {
      const marker = `RT-${controller.toUpperCase()}-OK`;
      const app = await buildAppliance({ dir: join(work, `app-${controller}`), name: `rt${controller}`, controller, marker });
      const first = uniqueName(`rt1-${controller}`);
      const second = uniqueName(`rt2-${controller}`);
      domains.push(first, second);
      assert.equal((await runCli(['import', app.ova!, '--pool', pool.name, '--name', first, '--virt-type', 'qemu'])).code, 0);
      const ova = join(work, `${first}.ova`);
      const exported = await runCli(['export', first, '-o', ova]);
      assert.equal(exported.code, 0, exported.stderr);
      assert.ok(existsSync(ova) && !existsSync(`${ova}.part`));
      const members = String((await execa('tar', ['-tf', ova])).stdout).split('\n');
      assert.deepEqual(members, [`${first}.ovf`, `${first}.mf`, `${first}-disk1.vmdk`], 'OVF first, then manifest, then disks');
      if (existsSync(SCHEMAS)) {
        const dir = join(work, `x-${controller}`);
        await mkdir(dir);
        await execa('tar', ['-xf', ova, '-C', dir]);
        await schemaValid(join(dir, `${first}.ovf`), 1);
      }
      const serial = join(work, `${second}.log`);
      // The first domain still holds the MAC: --mac-policy keep carries it over (auto would give the copy a new one).
      const again = await runCli(['import', ova, '--pool', pool.name, '--name', second, '--virt-type', 'qemu', '--start', '--serial-log', serial, '--mac-policy', 'keep']);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stderr, /Manifest .*\.mf: 2 file\(s\) verified/);
      assert.deepEqual(hardware(await dumpxml(second)), hardware(await dumpxml(first)));
      assert.ok((await waitForText(serial, marker, 30_000)).found, 'the re-imported domain boots');
      await execa('virsh', ['-c', TEST_URI, 'destroy', second]);
      const cmp = await execa('qemu-img', ['compare', '-f', 'qcow2', '-F', 'qcow2', join(pool.path, `${first}-vmdisk1.qcow2`), join(pool.path, `${second}-vmdisk1.qcow2`)], { reject: false });
      assert.equal(cmp.exitCode, 0, String(cmp.stdout));
    });
  }

  test('round trip keeps the USB controller model, the CPU topology, and the ProductSection with its OVF environment CD-ROM', async () => {
    const app = await buildAppliance({ dir: join(work, 'product'), name: 'rtproduct', ova: false, manifest: 'none' });
    await writeFile(app.ovf, roundTripDescriptor(await readFile(app.ovf, 'utf8')));
    const [first, second] = [uniqueName('rt1-product'), uniqueName('rt2-product')];
    domains.push(first, second);
    const imported = await runCli(['import', app.ovf, '--pool', pool.name, '--name', first, '--virt-type', 'qemu', '--prop', `${propertyKey('hostname')}=rt-host`, '--prop', `${propertyKey('secret')}=s3cret`]);
    assert.equal(imported.code, 0, imported.stderr);
    const ova = join(work, `${first}.ova`);
    const exported = await runCli(['export', first, '-o', ova]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stderr, new RegExp(`property ${propertyKey('secret').replaceAll('.', '\\.')}: a password is not kept`));
    assert.deepEqual(String((await execa('tar', ['-tf', ova])).stdout).split('\n'), [`${first}.ovf`, `${first}.mf`, `${first}-disk1.vmdk`], 'the ovf-env.xml CD-ROM is no file of the package');
    if (existsSync(SCHEMAS)) {
      const dir = join(work, 'product-x');
      await mkdir(dir);
      await execa('tar', ['-xf', ova, '-C', dir]);
      await schemaValid(join(dir, `${first}.ovf`), 1);
    }
    const again = await runCli(['import', ova, '--pool', pool.name, '--name', second, '--virt-type', 'qemu', '--mac-policy', 'keep']);
    assert.equal(again.code, 0, again.stderr);
    const [before, after] = [await dumpxml(first), await dumpxml(second)];
    assert.deepEqual(hardware(after), hardware(before));
    assert.deepEqual([hardware(before).usb, hardware(before).topology], [['piix3-uhci'], "sockets='4' dies='1' cores='1' threads='1'"]);
    const products = (xml: string) => xml.match(/<virt-ovf:product[\s\S]*?<\/virt-ovf:product>/g);
    assert.equal(products(before)?.length, 1);
    assert.deepEqual(products(after), products(before), 'the same ProductSection with the same values');
    const drives = (xml: string, name: string) => [...xml.matchAll(/<disk type='(\w+)' device='(\w+)'>[\s\S]*?<source (?:pool='[^']*' volume|file)='([^']+)'/g)].map((m) => [m[2], m[3]!.replace(name, 'NAME')]);
    assert.deepEqual(drives(after, second), drives(before, first));
    assert.deepEqual(drives(after, second), [['disk', 'NAME-vmdisk1.qcow2'], ['cdrom', 'NAME-ovf-env.iso']], 'one data disk and the ovf-env.xml CD-ROM, once');
    const env = async (name: string) => String((await execa('isoinfo', ['-i', join(pool.path, `${name}-ovf-env.iso`), '-R', '-x', '/ovf-env.xml'], { encoding: 'utf8' })).stdout);
    const values = (xml: string) => Object.fromEntries([...xml.matchAll(/<Property oe:key="([^"]+)" oe:value="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const [envBefore, envAfter] = [values(await env(first)), values(await env(second))];
    assert.equal(envAfter[propertyKey('hostname')], 'rt-host', 'the value set at the first import');
    assert.equal(envBefore[propertyKey('secret')], 's3cret');
    delete envBefore[propertyKey('secret')];
    assert.deepEqual(envAfter, envBefore, 'every value but the password comes back');
  });

  test('a running domain exports without being stopped, through a backup job', async () => {
    const app = await buildAppliance({ dir: join(work, 'live'), name: 'live', marker: 'LIVE-OK' });
    const name = uniqueName('live');
    domains.push(name);
    assert.equal((await runCli(['import', app.ova!, '--pool', pool.name, '--name', name, '--virt-type', 'qemu', '--start'])).code, 0);
    const ova = join(work, `${name}.ova`);
    const r = await runCli(['export', name, '-o', ova]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /point-in-time copy of 1 disk\(s\) with a backup job/);
    assert.match(r.stdout, /\(running: point-in-time copy\)/);
    const state = String((await execa('virsh', ['-c', TEST_URI, 'domstate', name])).stdout).trim();
    assert.equal(state, 'running', 'the guest kept running');
    const dir = join(work, 'live-x');
    await mkdir(dir);
    await execa('tar', ['-xf', ova, '-C', dir]);
    const cmp = await execa('qemu-img', ['compare', '-f', 'raw', '-F', 'vmdk', app.rawDisk, join(dir, `${name}-disk1.vmdk`)], { reject: false });
    assert.equal(cmp.exitCode, 0, String(cmp.stdout));
    assert.deepEqual((await readdir(work)).filter((f) => f.startsWith('.virt-ovf-export-')), [], 'the backup copies are removed');
  });

  test('OVF 2.0, qcow2 disks and an unpacked directory validate and import back', async () => {
    const app = await buildAppliance({ dir: join(work, 'v2'), name: 'v2', controller: 'pvscsi' });
    const name = uniqueName('v2');
    const back = uniqueName('v2back');
    domains.push(name, back);
    assert.equal((await runCli(['import', app.ova!, '--pool', pool.name, '--name', name, '--virt-type', 'qemu'])).code, 0);
    const dir = join(work, 'v2-out/');
    const r = await runCli(['export', name, '-o', dir, '--ovf-version', '2', '--disk-format', 'qcow2', '--manifest', 'sha512']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await readdir(dir)).sort(), [`${name}-disk1.qcow2`, `${name}.mf`, `${name}.ovf`]);
    assert.match(await readFile(join(dir, `${name}.mf`), 'utf8'), /^SHA512\(/m);
    if (existsSync(SCHEMAS)) await schemaValid(join(dir, `${name}.ovf`), 2);
    const again = await runCli(['import', join(dir, `${name}.ovf`), '--pool', pool.name, '--name', back, '--virt-type', 'qemu', '--mac-policy', 'keep']);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(hardware(await dumpxml(back)), hardware(await dumpxml(name)));
  });

  test('--sign writes a .cert that import verifies with --ca and --require-signature', async () => {
    const app = await buildAppliance({ dir: join(work, 'signed'), name: 'signed' });
    const name = uniqueName('signed');
    const back = uniqueName('signedback');
    domains.push(name, back);
    assert.equal((await runCli(['import', app.ova!, '--pool', pool.name, '--name', name, '--virt-type', 'qemu'])).code, 0);
    const key = join(work, 'key.pem');
    const cert = join(work, 'cert.pem');
    await execa('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=virt-ovf test signer']);
    const ova = join(work, `${name}.ova`);
    const r = await runCli(['export', name, '-o', ova, '--sign', key, '--cert', cert]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(String((await execa('tar', ['-tf', ova])).stdout).split('\n'), [`${name}.ovf`, `${name}.mf`, `${name}.cert`, `${name}-disk1.vmdk`]);
    const inspected = await runCli(['inspect', ova]);
    assert.match(inspected.stdout, /Signed by: +CN=virt-ovf test signer/);
    const again = await runCli(['import', ova, '--pool', pool.name, '--name', back, '--virt-type', 'qemu', '--ca', cert, '--require-signature']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /Signature of .*\.mf is valid: signed by CN=virt-ovf test signer/);
  });

  test('a missing domain is exit 4 and an interrupted export leaves no partial file', async () => {
    const missing = await runCli(['export', 'no-such-domain-virt-ovf', '-o', join(work, 'none.ova')]);
    assert.equal(missing.code, 4);
    assert.match(missing.stderr, /no domain named "no-such-domain-virt-ovf"/);
    const app = await buildAppliance({ dir: join(work, 'big'), name: 'big', content: 'mixed', diskSizeBytes: 512 * 2 ** 20, manifest: 'none' });
    const name = uniqueName('bigexp');
    domains.push(name);
    assert.equal((await runCli(['import', app.ova!, '--pool', pool.name, '--name', name, '--virt-type', 'qemu', '--no-verify'])).code, 0);
    const ova = join(work, `${name}.ova`);
    const { CLI } = await import('./helpers.js');
    const child = execa('node', [CLI, 'export', name, '-o', ova, '--json', '--compress', '9'], { reject: false, env: { LIBVIRT_DEFAULT_URI: TEST_URI } });
    let killed = false;
    child.stdout!.on('data', (chunk: Buffer) => {
      if (!killed && /"task":"convert"/.test(chunk.toString())) {
        killed = true;
        child.kill('SIGINT');
      }
    });
    const r = await child;
    assert.ok(killed, 'progress was seen before the end');
    assert.equal(r.exitCode, 130, String(r.stdout));
    assert.ok(!existsSync(ova) && !existsSync(`${ova}.part`), 'no OVA and no .part file');
    assert.ok(domainExists(name), 'the exported domain is untouched');
  });
});
