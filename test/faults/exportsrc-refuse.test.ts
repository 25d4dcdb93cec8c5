// A disk export cannot read as the guest sees it is refused, naming the disk, unless --lax leaves
// it out with a warning (issue 9 item 4): a network protocol export does not open, a file not in
// its declared format, a server that is not there, a disk file that is gone, a CD-ROM medium that
// cannot be read. Before: a network disk was left out with only a warning, whatever the flags.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertNothingLeft, assertUnchanged, compareToGuest, defineWithDisks, diskXml, exportedDisks, fingerprints, openScratch, runCli, type Scratch } from './exportsrc-kit.js';
import { assertCleanupFindsNothing } from './cleanup-check.js';

describe('a disk that cannot be read', () => {
  after(assertCleanupFindsNothing);
  let s: Scratch;
  let good: string;
  before(async () => {
    s = await openScratch('exportsrc-refuse');
    good = join(s.dir, 'good.raw');
    await execa('truncate', ['-s', '8M', good]);
    await execa('qemu-io', ['-f', 'raw', '-c', 'write -P 0x33 1M 64k', good]);
  });
  after(async () => {
    await s?.cleanup();
  });

  const cases = [
    { what: 'a network protocol export does not open (sheepdog, gone from QEMU)', disk: `<source protocol='sheepdog' name='img'><host name='127.0.0.1' port='7000'/></source>`, type: 'network', said: /disk vdb \(sheepdog img\): network protocol "sheepdog" is not one export opens/ },
    { what: 'a file that is not in the format its <driver type> says', disk: `<source file='@GOOD@'/>`, type: 'file', said: /disk vdb \(\/.*\/good\.raw\): QEMU cannot open it: Image is not in qcow2 format/ },
    { what: 'a network disk whose server is not there', disk: `<source protocol='nbd' name='gone'><host name='127.0.0.1' port='1'/></source>`, type: 'network', said: /disk vdb \(nbd:\/\/127\.0\.0\.1:1\/gone\): QEMU cannot open it: .*Connection refused/ },
  ];
  for (const c of cases) {
    it(`${c.what}: exit 4 naming the disk and --lax, nothing written; with --lax left out with a warning`, async () => {
      const disks = diskXml('file', 'raw', 'vda', `<source file='${good}'/>`) + diskXml(c.type, c.type === 'file' ? 'qcow2' : 'raw', 'vdb', c.disk.replace('@GOOD@', good));
      const name = await defineWithDisks(s, 'xs-refuse', disks);
      const before = await fingerprints([good]);
      const output = join(s.dir, `${name}.ova`);
      const refused = await runCli(s, ['export', name, '-o', output]);
      assert.equal(refused.code, 4, refused.stderr);
      assert.match(refused.stderr, c.said);
      assert.match(refused.stderr, /choose to leave it out with --lax$/m);
      await assertNothingLeft(s, output);
      const lax = await runCli(s, ['export', name, '-o', output, '--lax']);
      assert.equal(lax.code, 0, lax.stderr);
      assert.match(lax.stderr, new RegExp(`warning: ${c.said.source}.*; left out of the OVF`));
      const [vmdk, ...rest] = await exportedDisks(output, 'vmdk');
      assert.equal(rest.length, 0, 'only the readable disk is in the package');
      await compareToGuest(good, 'raw', vmdk!, 'vmdk');
      assert.equal((await readFile(join(`${output}.x`, `${name}.ovf`), 'utf8')).match(/<Disk /g)?.length, 1);
      await assertNothingLeft(s, output, { kept: true });
      await assertUnchanged(before);
    });
  }

  it('a disk file that is gone: with --lax left out with a warning (without, the OS error names it)', async () => {
    const disks = diskXml('file', 'raw', 'vda', `<source file='${good}'/>`) + diskXml('file', 'raw', 'vdb', `<source file='/nonexistent-virt-ovf/gone.raw'/>`);
    const name = await defineWithDisks(s, 'xs-gone', disks);
    const output = join(s.dir, `${name}.ova`);
    const refused = await runCli(s, ['export', name, '-o', output]);
    assert.notEqual(refused.code, 0, refused.stderr);
    assert.match(refused.stderr, /\/nonexistent-virt-ovf\/gone\.raw/);
    await assertNothingLeft(s, output);
    const lax = await runCli(s, ['export', name, '-o', output, '--lax']);
    assert.equal(lax.code, 0, lax.stderr);
    assert.match(lax.stderr, /warning: disk vdb \(\/nonexistent-virt-ovf\/gone\.raw\): cannot open it: it does not exist; left out of the OVF/);
    assert.equal((await exportedDisks(output, 'vmdk')).length, 1);
    await assertNothingLeft(s, output, { kept: true });
  });

  it('a CD-ROM whose medium cannot be read: refused, or with --lax exported as an empty drive', async () => {
    const medium = `<source protocol='nbd' name='media'><host name='127.0.0.1' port='1'/></source>`;
    const disks = diskXml('file', 'raw', 'vda', `<source file='${good}'/>`) + diskXml('network', 'raw', 'hdc', medium, 'cdrom');
    const name = await defineWithDisks(s, 'xs-cdrom', disks);
    const output = join(s.dir, `${name}.ova`);
    const refused = await runCli(s, ['export', name, '-o', output]);
    assert.equal(refused.code, 4, refused.stderr);
    assert.match(refused.stderr, /cdrom hdc \(nbd:\/\/127\.0\.0\.1:1\/media\): QEMU cannot open it: .*Connection refused/);
    await assertNothingLeft(s, output);
    const lax = await runCli(s, ['export', name, '-o', output, '--lax']);
    assert.equal(lax.code, 0, lax.stderr);
    assert.match(lax.stderr, /warning: cdrom hdc .*the drive is exported without its medium/);
    assert.equal((await exportedDisks(output, 'vmdk')).length, 1);
    const ovf = await readFile(join(`${output}.x`, `${name}.ovf`), 'utf8');
    assert.match(ovf, /<rasd:ResourceType>15<\/rasd:ResourceType>/, 'the CD-ROM drive is still there');
    assert.doesNotMatch(ovf, /\.iso"/, 'without a medium file');
  });
});
