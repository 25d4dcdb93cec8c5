// Descriptor values that collide with what virt-ovf makes (issue 9, item 7), through the real CLI
// with --print-xml and inspect (no libvirt object is created): generated devices, volume names,
// controller slots, property values, --prop, and the package path in the domain's metadata.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from './helpers.js';
import { cdromItem, diskItem, emptyDisk, ideController, noteProperty, sataController, volumesOf, writePackage } from './collisions-kit.js';

/** The value of an XPath string expression over `xml`, read by libxml2 (xmllint); throws when the XML is not well-formed. */
async function xpath(xml: string, expression: string): Promise<string> {
  return String((await execa('xmllint', ['--xpath', `string(${expression})`, '-'], { input: xml, stripFinalNewline: false })).stdout).replace(/\n$/, '');
}

describe('descriptor values cannot collide with what virt-ovf makes', () => {
  let work: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'virt-ovf-collide-'));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  const printXml = (ovf: string, ...args: string[]) => runCli(['import', ovf, '--name', 'col', '--virt-type', 'qemu', '--print-xml', ...args]);

  test('a Disk and a File with the id of the generated OVF-environment CD-ROM keep their own volumes', async () => {
    const ovf = await writePackage(join(work, 'gen'), {
      files: [{ id: 'ovf-env', href: 'tools.iso', size: 2048 }],
      disks: [emptyDisk('ovf-env')],
      content: { 'tools.iso': Buffer.alloc(2048, 0x54) },
      items: [sataController('3'), diskItem('4', '3', '0', 'ovf-env'), cdromItem('5', '3', '1', 'ovf-env')],
    });
    const r = await printXml(ovf, '--ovf-env');
    assert.equal(r.code, 0, r.stderr);
    const volumes = volumesOf(r.stdout);
    assert.deepEqual(volumes, ['col-ovf-env-2.qcow2', 'col-ovf-env-3.iso', 'col-ovf-env.iso'], 'the generated CD-ROM (last) keeps col-ovf-env.iso');
    assert.equal(new Set(volumes).size, volumes.length);
  });

  test('two Disks whose ids differ only in punctuation get distinct volume names, with a warning', async () => {
    const ovf = await writePackage(join(work, 'punct'), {
      disks: [emptyDisk('disk 1'), emptyDisk('disk:1'), emptyDisk('Disk_1')],
      items: [sataController('3'), diskItem('4', '3', '0', 'disk 1'), diskItem('5', '3', '1', 'disk:1'), diskItem('6', '3', '2', 'Disk_1')],
    });
    const r = await printXml(ovf);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(volumesOf(r.stdout), ['col-disk_1.qcow2', 'col-disk_1-2.qcow2', 'col-Disk_1-3.qcow2']);
    assert.match(r.stderr, /Item InstanceID 5: volume name "col-disk_1" is taken by another drive of this domain; using "col-disk_1-2"/);
  });

  test('a Disk referenced by two Items is attached once, with a warning', async () => {
    const ovf = await writePackage(join(work, 'twice'), {
      disks: [emptyDisk('shared'), emptyDisk('other')],
      items: [sataController('3'), diskItem('4', '3', '0', 'shared'), diskItem('5', '3', '1', 'shared'), diskItem('6', '3', '2', 'other')],
    });
    const r = await printXml(ovf);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(volumesOf(r.stdout), ['col-shared.qcow2', 'col-other.qcow2']);
    assert.equal(r.stdout.match(/<disk /g)?.length, 2);
    assert.match(r.stderr, /Item InstanceID 5 \("Hard disk 5"\): Disk "shared" is already attached by Item InstanceID 4 \("Hard disk 4"\); a disk is attached once, so this Item is left out/);
  });

  test('eight disks on one SATA controller: the two beyond its six ports go to a second SATA controller', async () => {
    const ids = Array.from({ length: 8 }, (_, i) => `d${i}`);
    const ovf = await writePackage(join(work, 'sata8'), { disks: ids.map(emptyDisk), items: [sataController('3'), ...ids.map((d, i) => diskItem(String(10 + i), '3', String(i), d))] });
    const r = await printXml(ovf);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(volumesOf(r.stdout), ids.map((d) => `col-${d}.qcow2`), 'no disk is dropped');
    assert.deepEqual([...r.stdout.matchAll(/<controller type="sata" index="(\d)"/g)].map((m) => m[1]), ['0', '1']);
    const addresses = [...r.stdout.matchAll(/<address type="drive" controller="(\d)" bus="0" target="0" unit="(\d)"\/>/g)].map((m) => `${m[1]}:${m[2]}`);
    assert.deepEqual(addresses, ['0:0', '0:1', '0:2', '0:3', '0:4', '0:5', '1:0', '1:1']);
    assert.match(r.stderr, /Item InstanceID 16: its sata controller has no free address \(6 in all\); attached to an additional sata controller \(index 1\)/);
  });

  test('three drives on one IDE channel, which cannot grow: exit 3 naming the count', async () => {
    const ovf = await writePackage(join(work, 'ide3'), {
      disks: [emptyDisk('a'), emptyDisk('b'), emptyDisk('c')],
      items: [ideController('3', '0'), diskItem('4', '3', '0', 'a'), diskItem('5', '3', '1', 'b'), diskItem('6', '3', '0', 'c')],
    });
    const r = await printXml(ovf);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /3 drives are attached to controller Item InstanceID 3 \(2 addresses per channel\) and another ide controller cannot be added, so Item InstanceID 6 has no address/);
  });

  test('--prop splits at the first "=": a value may hold "="', async () => {
    const ovf = await writePackage(join(work, 'prop'), { product: noteProperty('default'), items: [] });
    const r = await runCli(['inspect', ovf, '--json', '--prop', 'note=a=b==']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { properties: { key: string; value?: string }[] };
    assert.deepEqual(report.properties.map((p) => [p.key, p.value]), [['note', 'a=b==']]);
    const bad = await runCli(['inspect', ovf, '--prop', '=x']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--prop =x: expected KEY=VALUE/);
  });

  test('property values with control characters are refused with the key; newline and tab are not', async () => {
    const ovf = await writePackage(join(work, 'ctl'), { product: noteProperty('default'), items: [] });
    for (const [ch, code] of [['\u0001', 'U+0001'], ['\u001b', 'U+001B'], ['\u007f', 'U+007F'], ['\u0085', 'U+0085']] as const) {
      const r = await printXml(ovf, '--ovf-env', '--prop', `note=a${ch}b`);
      assert.equal(r.code, 2, `${code}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`property note: the value given holds the control character ${code.replace('+', '\\+')}, which the OVF environment does not carry; choose a value without control characters with --prop`));
    }
    const fromDescriptor = await writePackage(join(work, 'ctl-default'), { product: noteProperty('x&#x7f;y'), items: [] });
    const d = await printXml(fromDescriptor, '--ovf-env');
    assert.equal(d.code, 2, d.stderr);
    assert.match(d.stderr, /property note: the descriptor's value holds the control character U\+007F/);
    const ok = await printXml(ovf, '--ovf-env', '--prop', 'note=line 1\n\tline 2\r\n');
    assert.equal(ok.code, 0, ok.stderr);
  });

  test('a package path with control characters, "&amp;" and newlines reaches the domain metadata escaped', async () => {
    const dir = join(work, 'pa\u0001th &amp; <x>\n\tend');
    await mkdir(dir);
    const ovf = await writePackage(dir, { disks: [emptyDisk('d')], items: [sataController('3'), diskItem('4', '3', '0', 'd')] });
    const r = await printXml(ovf);
    assert.equal(r.code, 0, r.stderr);
    const source = await xpath(r.stdout, '/domain/metadata/*[local-name()="import"]/@source');
    assert.equal(source, ovf.replace('\u0001', '\uFFFD'), 'read back by libxml2: the C0 control replaced, everything else exact');
    assert.match(r.stdout, /source="[^"]*pa\uFFFDth &amp;amp; &lt;x&gt;&#10;&#9;end\/vm\.ovf"/);
    const description = await xpath(r.stdout, '/domain/description');
    assert.ok(description.includes(`from ${ovf.replace('\u0001', '\uFFFD')} (VirtualSystem "vm")`), description);
  });
});
