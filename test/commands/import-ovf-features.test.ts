// OVF features end to end: ProductSection properties, the OVF environment ISO, EULA, deployment options, collections.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildAppliance, type ApplianceResult } from '../../scripts/appliance.js';
import { uniqueName, TEST_URI, type ScratchPool } from '../libvirt/harness.js';
import { closeScratch, domainExists, openScratch, poolVolumes, runCli, waitForText } from './helpers.js';

const PRODUCT = `<ProductSection>
      <Info>Appliance settings</Info>
      <Product>Tiny</Product>
      <Property ovf:key="hostname" ovf:type="string" ovf:qualifiers="MaxLen(10)" ovf:userConfigurable="true" ovf:value="tiny"><Label>Host name</Label></Property>
      <Property ovf:key="count" ovf:type="uint8" ovf:userConfigurable="true" ovf:value="1"/>
      <Property ovf:key="secret" ovf:type="string" ovf:password="true" ovf:userConfigurable="true" ovf:value="default-secret"/>
      <Property ovf:key="fixed" ovf:type="string" ovf:value="locked"/>
    </ProductSection>
    <EulaSection><Info>License</Info><License>You may run this tiny appliance.
It prints one line.</License></EulaSection>
`;

const DEPLOYMENT = `<DeploymentOptionSection>
    <Info>Sizes</Info>
    <Configuration ovf:default="true" ovf:id="small"><Label>Small</Label><Description>64 MiB</Description></Configuration>
    <Configuration ovf:id="large"><Label>Large</Label><Description>128 MiB</Description></Configuration>
  </DeploymentOptionSection>
`;

describe('OVF features', () => {
  let pool: ScratchPool;
  let work: string;
  let app: ApplianceResult;
  let ova: string;
  const domains: string[] = [];

  before(async () => {
    ({ pool, work } = await openScratch('feat', { network: true }));
    app = await buildAppliance({ dir: join(work, 'base'), name: 'feat', ova: false, manifest: 'none', marker: 'FEAT-MARKER' });
    const ovf = (await readFile(app.ovf, 'utf8'))
      .replace('  <VirtualSystem ', `  ${DEPLOYMENT}  <VirtualSystem `)
      .replace('    <OperatingSystemSection', `    ${PRODUCT}    <OperatingSystemSection`)
      .replace('<VirtualHardwareSection>', '<VirtualHardwareSection ovf:transport="iso">')
      .replace(/<Item>(\s*<rasd:AllocationUnits>byte \* 2\^20[\s\S]*?<\/Item>)/, (_m, body: string) => `<Item ovf:configuration="small">${body}<Item ovf:configuration="large">${body.replace('<rasd:VirtualQuantity>64<', '<rasd:VirtualQuantity>128<')}`);
    assert.ok(ovf.includes('ovf:configuration="large"') && ovf.includes('ovf:transport="iso"') && ovf.includes('<EulaSection>'), 'fixture edits applied');
    await writeFile(app.ovf, ovf);
    ova = join(work, 'feat.ova');
    await execa('tar', ['--format=ustar', '-cf', ova, '-C', join(work, 'base'), 'feat.ovf', 'feat-disk1.vmdk']);
  });
  after(async () => {
    await closeScratch(pool, work, domains);
  });

  test('inspect lists properties (a password hidden), deployment options, the EULA and the environment CD-ROM', async () => {
    const r = await runCli(['inspect', ova]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /hostname \(string\) = "tiny"  Host name/);
    assert.match(r.stdout, /secret \(string\) = "\(hidden\)"/);
    assert.match(r.stdout, /fixed \(string, fixed\) = "locked"/);
    assert.match(r.stdout, /Deployment: +small \(selected\) \(default\), large/);
    assert.match(r.stdout, /EULA 1\/1 \(import needs --accept-eula\):\n  You may run this tiny appliance\./);
    assert.match(r.stdout, /ovf-env\.xml \(generated\)/);
    assert.match(r.stdout, /Memory: +64\.0 MiB/);
    assert.ok(!r.stdout.includes('default-secret'));
    const large = JSON.parse((await runCli(['inspect', ova, '--json', '--deployment', 'large'])).stdout) as { domain: { memoryBytes: number } };
    assert.equal(large.domain.memoryBytes, 128 * 2 ** 20);
  });

  test('import refuses without --accept-eula and creates nothing (exit 2)', async () => {
    const name = uniqueName('eula');
    const r = await runCli(['import', ova, '--pool', pool.name, '--name', name, '--virt-type', 'qemu']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /has a license agreement \(EulaSection\).*--accept-eula/);
    assert.deepEqual(await poolVolumes(pool), []);
    assert.equal(domainExists(name), false);
  });

  test('--prop values are checked against type, qualifiers and userConfigurable, never echoing a password', async () => {
    const base = ['import', ova, '--pool', pool.name, '--virt-type', 'qemu', '--accept-eula', '--print-xml'];
    const cases: [string, RegExp][] = [
      ['count=300', /property count="300": out of range for uint8 \(--prop\)/],
      ['hostname=far-too-long-name', /property hostname="far-too-long-name": longer than 10 characters \(--prop\)/],
      ['fixed=x', /property fixed: the property is not ovf:userConfigurable \(--prop\)/],
      ['nope=1', /property nope: no such property \(known: hostname, count, secret, fixed\) \(--prop\)/],
    ];
    for (const [prop, message] of cases) {
      const r = await runCli([...base, '--prop', prop]);
      assert.equal(r.code, 2, `${prop}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });

  test('the large deployment with --prop values boots, and its ovf-env.xml CD-ROM carries the values', async () => {
    const name = uniqueName('env');
    domains.push(name);
    const serialLog = join(work, `${name}.log`);
    const r = await runCli(['import', ova, '--pool', pool.name, '--name', name, '--virt-type', 'qemu', '--accept-eula', '--deployment', 'large', '--prop', 'hostname=web1', '--prop', 'secret=s3cr3t-value', '--start', '--serial-log', serialLog, '-v']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!`${r.stdout}${r.stderr}`.includes('s3cr3t-value'), 'the password value is never printed');
    assert.ok((await waitForText(serialLog, 'FEAT-MARKER', 30_000)).found, 'still boots from the disk, not the environment CD');
    const iso = await readFile(join(pool.path, `${name}-ovf-env.iso`), 'latin1');
    assert.match(iso, /<Environment xmlns="http:\/\/schemas\.dmtf\.org\/ovf\/environment\/1"/);
    assert.match(iso, /oe:key="hostname" oe:value="web1"/);
    assert.match(iso, /oe:key="secret" oe:value="s3cr3t-value"/);
    assert.match(iso, /oe:key="count" oe:value="1"/);
    assert.match(iso, /OVF ENV/, 'volume label as VMware writes it');
    const xml = String((await execa('virsh', ['-c', TEST_URI, 'dumpxml', name])).stdout);
    assert.match(xml, /<memory unit='KiB'>131072<\/memory>/);
    assert.match(xml, new RegExp(`<source pool='${pool.name}' volume='${name}-ovf-env.iso'`));
  });

  test('--all imports each VirtualSystem of a collection as its own domain, and removes them all when one fails', async () => {
    const dir = join(work, 'collection');
    await mkdir(dir);
    const base = await readFile(join(work, 'base', 'feat.ovf'), 'utf8');
    const vs = /<VirtualSystem [\s\S]*<\/VirtualSystem>/.exec(base)![0]
      .replace(PRODUCT.trim(), '')
      .replace('ovf:transport="iso"', '');
    const member = (id: string, disk: string) => vs.replace(/ovf:id="feat"/, `ovf:id="${id}"`).replace('<Name>feat</Name>', `<Name>${id}</Name>`).replace('ovf:/disk/vmdisk1', `ovf:/disk/${disk}`);
    const ovf = base
      .replace(/<VirtualSystem [\s\S]*<\/VirtualSystem>/, `<VirtualSystemCollection ovf:id="stack"><Info>Two VMs</Info><Name>stack</Name>${member('web', 'vmdisk1')}${member('db', 'vmdisk2')}</VirtualSystemCollection>`)
      .replace(/<EulaSection>[\s\S]*?<\/EulaSection>/, '')
      .replace('</References>', '<File ovf:href="feat-disk2.vmdk" ovf:id="file2"/></References>')
      .replace('</DiskSection>', '<Disk ovf:capacity="1048576" ovf:diskId="vmdisk2" ovf:fileRef="file2" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/></DiskSection>');
    await writeFile(join(dir, 'stack.ovf'), ovf);
    await copyFile(app.vmdk, join(dir, 'feat-disk1.vmdk'));
    await copyFile(app.vmdk, join(dir, 'feat-disk2.vmdk'));
    const listed = await runCli(['inspect', join(dir, 'stack.ovf')]);
    assert.match(listed.stdout, /VirtualSystems: web \(selected\), db/);

    const prefix = uniqueName('stack');
    domains.push(`${prefix}-web`, `${prefix}-db`);
    const ok = await runCli(['import', join(dir, 'stack.ovf'), '--all', '--name', prefix, '--pool', pool.name, '--virt-type', 'qemu']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(domainExists(`${prefix}-web`) && domainExists(`${prefix}-db`));
    assert.ok((await poolVolumes(pool)).includes(`${prefix}-db-vmdisk2.qcow2`));

    await writeFile(join(dir, 'feat-disk2.vmdk'), Buffer.alloc(4096, 0x41));
    const prefix2 = uniqueName('broken');
    const before = await poolVolumes(pool);
    const bad = await runCli(['import', join(dir, 'stack.ovf'), '--all', '--name', prefix2, '--pool', pool.name, '--virt-type', 'qemu']);
    assert.equal(bad.code, 3, bad.stderr);
    assert.match(bad.stderr, new RegExp(`Rolled back: domain ${prefix2}-web and its 1 volume`));
    assert.equal(domainExists(`${prefix2}-web`), false);
    assert.deepEqual(await poolVolumes(pool), before);
  });
});
