// Colliding descriptor values imported for real into a scratch pool (issue 9, item 7): eight disks
// on one SATA controller all become volumes attached to a running domain; a package CD-ROM named
// like the OVF-environment CD-ROM keeps its bytes; ovf-env.xml carries newline and tab exactly.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { uniqueName, TEST_URI, type ScratchPool } from '../libvirt/harness.js';
import { closeScratch, openScratch, poolVolumes, runCli } from './helpers.js';
import { cdromItem, diskItem, emptyDisk, noteProperty, sataController, writePackage } from './collisions-kit.js';

const virsh = async (...args: string[]) => String((await execa('virsh', ['-c', TEST_URI, ...args])).stdout);

describe('colliding descriptor values, imported into a scratch pool', () => {
  let pool: ScratchPool;
  let work: string;
  const domains: string[] = [];

  before(async () => {
    ({ pool, work } = await openScratch('collide'));
  });
  after(async () => {
    await closeScratch(pool, work, domains);
  });

  test('eight disks on one SATA controller: eight volumes, all attached, and the domain starts', async () => {
    const ids = Array.from({ length: 8 }, (_, i) => `d${i}`);
    const ovf = await writePackage(join(work, 'sata8'), { disks: ids.map(emptyDisk), items: [sataController('3'), ...ids.map((d, i) => diskItem(String(10 + i), '3', String(i), d))] });
    const name = uniqueName('sata8');
    domains.push(name);
    const r = await runCli(['import', ovf, '--pool', pool.name, '--name', name, '--virt-type', 'qemu', '--start']);
    assert.equal(r.code, 0, r.stderr);
    const expected = ids.map((d) => `${name}-${d}.qcow2`);
    assert.deepEqual(await poolVolumes(pool), [...expected].sort());
    for (const v of expected) assert.match(await virsh('vol-info', '--pool', pool.name, v), /Capacity:\s+1\.00 MiB/);
    const xml = await virsh('dumpxml', name);
    const attached = [...xml.matchAll(/<source pool='[^']+' volume='([^']+)'/g)].map((m) => m[1]);
    assert.deepEqual(attached, expected);
    assert.deepEqual([...xml.matchAll(/<controller type='sata' index='(\d)'/g)].map((m) => m[1]), ['0', '1']);
    assert.match(await virsh('domstate', name), /running/);
    const blk = await virsh('domblklist', name);
    const targets = ['sda', 'sdb', 'sdc', 'sdd', 'sde', 'sdf', 'sdg', 'sdh'];
    assert.deepEqual([...blk.matchAll(/^\s*(sd[a-z])\s+(\S+)$/gm)].map((m) => [m[1], m[2]]), targets.map((t, i) => [t, expected[i]]));
    // The running QEMU answers for each: it opened all eight.
    for (const t of targets) assert.match(await virsh('domblkinfo', name, t), /Capacity:\s+1048576/, t);
  });

  test('a package CD-ROM whose File id is "ovf-env" keeps its bytes next to the generated CD-ROM, whose ovf-env.xml carries newline and tab exactly', async () => {
    const iso = Buffer.alloc(4096, 0x54);
    const ovf = await writePackage(join(work, 'envname'), {
      files: [{ id: 'ovf-env', href: 'tools.iso', size: iso.length }],
      content: { 'tools.iso': iso },
      product: noteProperty('default'),
      items: [sataController('3'), cdromItem('5', '3', '1', 'ovf-env')],
    });
    const name = uniqueName('envname');
    domains.push(name);
    const value = 'line 1\n\tline 2 & <b>"quoted"</b> &amp; &#10;\r\n  ';
    const r = await runCli(['import', ovf, '--pool', pool.name, '--name', name, '--virt-type', 'qemu', '--ovf-env', '--prop', `note=${value}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await poolVolumes(pool).then((v) => v.filter((f) => f.startsWith(name))), [`${name}-ovf-env-2.iso`, `${name}-ovf-env.iso`]);
    assert.deepEqual(await readFile(join(pool.path, `${name}-ovf-env-2.iso`)), iso, "the package's CD-ROM holds its own bytes");
    const env = String((await execa('isoinfo', ['-i', join(pool.path, `${name}-ovf-env.iso`), '-R', '-x', '/ovf-env.xml'], { encoding: 'utf8' })).stdout);
    assert.match(env, /oe:key="note" oe:value="line 1&#10;&#9;line 2 &amp; &lt;b&gt;&quot;quoted&quot;&lt;\/b&gt; &amp;amp; &amp;#10;&#13;&#10;  "/);
    const read = String((await execa('xmllint', ['--xpath', 'string(//*[local-name()="Property"][@*[local-name()="key"]="note"]/@*[local-name()="value"])', '-'], { input: env, stripFinalNewline: false })).stdout).replace(/\n$/, '');
    assert.equal(read, value, 'libxml2 reads the value back exactly');
  });
});
