// Tests for scripts/appliance.ts and scripts/appliance/: boot sector bytes, VMDK, OVF, manifest, OVA layout, and real boots under QEMU TCG.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { buildAppliance, fileDigest, type ApplianceResult } from '../../scripts/appliance.js';
import { bootUntilMarker } from '../../scripts/appliance/boot-check.js';
import { bootSector } from '../../scripts/appliance/boot-sector.js';
import { CHUNK_SIZE_BYTES } from '../../scripts/appliance/disk.js';

describe('bootSector', () => {
  it('is 512 bytes, starts with xor ax,ax; mov ds,ax; cld and ends in 55 AA', () => {
    const s = bootSector('HELLO');
    assert.equal(s.length, 512);
    assert.deepEqual([...s.subarray(0, 5)], [0x31, 0xc0, 0x8e, 0xd8, 0xfc]);
    assert.equal(s[510], 0x55);
    assert.equal(s[511], 0xaa);
  });

  it('holds the marker + CRLF + NUL at the address loaded into SI', () => {
    const s = bootSector('MARK-42');
    const at = s.indexOf('MARK-42\r\n\0', 0, 'ascii');
    assert.ok(at > 0);
    const movSi = s.indexOf(0xbe);
    assert.ok(movSi > 0);
    assert.equal(s.readUInt16LE(movSi + 1), 0x7c00 + at);
    // dx = 0x3F8 then out dx, al
    assert.ok(s.includes(Buffer.from([0xba, 0xf8, 0x03, 0xee])));
    // cli; hlt; jmp -3
    assert.ok(s.includes(Buffer.from([0xfa, 0xf4, 0xeb, 0xfd])));
  });

  it('rejects non-ASCII, empty and too-long markers', () => {
    assert.throws(() => bootSector(''), RangeError);
    assert.throws(() => bootSector('caf\u00e9'), RangeError);
    assert.throws(() => bootSector('x'.repeat(500)), RangeError);
  });
});

describe('buildAppliance', () => {
  let dir: string;
  let app: ApplianceResult;
  const marker = 'APPLIANCE-TEST-MARKER-7c00';
  const size = 2 * 1024 * 1024;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'virt-ovf-appliance-'));
    app = await buildAppliance({ dir, name: 'tiny', marker, diskSizeBytes: size });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the raw disk with the boot sector at offset 0', async () => {
    assert.equal((await stat(app.rawDisk)).size, size);
    const raw = await readFile(app.rawDisk);
    assert.deepEqual(raw.subarray(0, 512), bootSector(marker));
    assert.equal(raw[510], 0x55);
    assert.equal(raw[511], 0xaa);
    assert.equal(basename(app.rawDisk), 'tiny-disk1.raw');
  });

  it('produces a streamOptimized VMDK with the right virtual size', async () => {
    const { stdout } = await execa('qemu-img', ['info', '-f', 'vmdk', '--output=json', app.vmdk]);
    const info = JSON.parse(stdout) as {
      format: string;
      'virtual-size': number;
      'format-specific'?: { data?: { 'create-type'?: string } };
    };
    assert.equal(info.format, 'vmdk');
    assert.equal(info['virtual-size'], size);
    assert.equal(info['format-specific']?.data?.['create-type'], 'streamOptimized');
  });

  it('writes an OVF descriptor that references the VMDK with its real size', async () => {
    const ovf = await readFile(app.ovf, 'utf8');
    const vmdkSize = (await stat(app.vmdk)).size;
    assert.match(ovf, /<Envelope xmlns="http:\/\/schemas\.dmtf\.org\/ovf\/envelope\/1"/);
    assert.ok(ovf.includes(`<File ovf:href="tiny-disk1.vmdk" ovf:id="file1" ovf:size="${vmdkSize}"/>`));
    assert.ok(ovf.includes(`ovf:capacity="${size}"`));
    assert.ok(ovf.includes('ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"'));
    assert.match(ovf, /ovf:populatedSize="[1-9]\d*"/);
    assert.ok(ovf.includes('<VirtualSystem ovf:id="tiny">'));
    assert.ok(ovf.includes('<rasd:ResourceSubType>vmware.sata.ahci</rasd:ResourceSubType>'));
    assert.ok(ovf.includes('<rasd:ResourceSubType>E1000</rasd:ResourceSubType>'));
    assert.ok(ovf.includes('<rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource>'));
    assert.match(ovf, /<rasd:Address>00:50:56:[0-3][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}<\/rasd:Address>/);
    assert.match(
      ovf,
      /<vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="bios"\/>\s*<\/VirtualHardwareSection>/,
    );
    // RASD children of every Item are in alphabetical (xs:sequence) order.
    for (const item of ovf.matchAll(/<Item>([\s\S]*?)<\/Item>/g)) {
      const names = [...(item[1] ?? '').matchAll(/<rasd:(\w+)>/g)].map((m) => m[1] ?? '');
      assert.deepEqual(names, [...names].sort());
    }
  });

  it('writes a manifest whose SHA256 digests match the files', async () => {
    assert.ok(app.mf);
    const mf = await readFile(app.mf, 'utf8');
    const expected =
      `SHA256(tiny.ovf)= ${await fileDigest(app.ovf, 'sha256')}\n` +
      `SHA256(tiny-disk1.vmdk)= ${await fileDigest(app.vmdk, 'sha256')}\n`;
    assert.equal(mf, expected);
    assert.match(mf, /^SHA256\(tiny\.ovf\)= [0-9a-f]{64}$/m);
  });

  it('packs an OVA with the OVF first, then the manifest, then the disk', async () => {
    assert.ok(app.ova);
    const { stdout } = await execa('tar', ['-tf', app.ova]);
    assert.deepEqual(stdout.split('\n'), ['tiny.ovf', 'tiny.mf', 'tiny-disk1.vmdk']);
    // ustar magic in the first header
    const head = (await readFile(app.ova)).subarray(257, 263).toString('latin1');
    assert.equal(head, 'ustar\0');
  });

  it('boots the RAW disk under QEMU TCG and prints the marker on COM1', async () => {
    const r = await bootUntilMarker({
      disk: app.rawDisk,
      format: 'raw',
      marker,
      serialFile: join(dir, 'serial-raw.txt'),
    });
    assert.ok(r.found, `marker not seen; serial was ${JSON.stringify(r.serial)}`);
    assert.ok(r.serial.includes(`${marker}\r\n`));
    console.log(`# raw boot: marker after ${r.elapsedMs.toFixed(0)} ms`);
  });

  it('boots the VMDK under QEMU TCG (conversion kept it bootable)', async () => {
    const r = await bootUntilMarker({
      disk: app.vmdk,
      format: 'vmdk',
      marker,
      serialFile: join(dir, 'serial-vmdk.txt'),
    });
    assert.ok(r.found, `marker not seen; serial was ${JSON.stringify(r.serial)}`);
    console.log(`# vmdk boot: marker after ${r.elapsedMs.toFixed(0)} ms`);
  });
});

describe('buildAppliance variants', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'virt-ovf-appliance-v-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('pvscsi + sha1 manifest + no OVA', async () => {
    const app = await buildAppliance({ dir, name: 'pv', controller: 'pvscsi', manifest: 'sha1', ova: false });
    assert.equal(app.ova, undefined);
    const ovf = await readFile(app.ovf, 'utf8');
    assert.ok(ovf.includes('<rasd:ResourceSubType>VirtualSCSI</rasd:ResourceSubType>'));
    assert.ok(ovf.includes('<rasd:ResourceType>6</rasd:ResourceType>'));
    assert.ok(ovf.includes('<rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType>'));
    assert.ok(ovf.includes(`ovf:capacity="${1024 * 1024}"`));
    assert.ok(app.mf);
    const mf = await readFile(app.mf, 'utf8');
    assert.equal(
      mf,
      `SHA1(pv.ovf)= ${await fileDigest(app.ovf, 'sha1')}\nSHA1(pv-disk1.vmdk)= ${await fileDigest(app.vmdk, 'sha1')}\n`,
    );
  });

  it('manifest none: OVA holds only OVF and disk', async () => {
    const app = await buildAppliance({ dir, name: 'nomf', manifest: 'none' });
    assert.equal(app.mf, undefined);
    assert.ok(app.ova);
    const { stdout } = await execa('tar', ['-tf', app.ova]);
    assert.deepEqual(stdout.split('\n'), ['nomf.ovf', 'nomf-disk1.vmdk']);
  });

  it('mixed content: sparse holes, text and random chunks, still bootable', async () => {
    const chunks = 10;
    const marker = 'MIXED-CONTENT-BOOT';
    const app = await buildAppliance({
      dir,
      name: 'mixed',
      marker,
      content: 'mixed',
      diskSizeBytes: chunks * CHUNK_SIZE_BYTES,
      ova: false,
    });
    const raw = await readFile(app.rawDisk);
    assert.equal(raw.length, chunks * CHUNK_SIZE_BYTES);
    assert.deepEqual(raw.subarray(0, 512), bootSector(marker));
    let holes = 0;
    let text = 0;
    let random = 0;
    for (let i = 0; i < chunks; i++) {
      const c = raw.subarray(i * CHUNK_SIZE_BYTES, (i + 1) * CHUNK_SIZE_BYTES);
      if (c.every((b) => b === 0)) holes++;
      else if (c.subarray(512).every((b) => b === 0x0a || (b >= 0x20 && b < 0x7f))) text++;
      else random++;
    }
    assert.deepEqual({ holes, text, random }, { holes: 4, text: 4, random: 2 });
    // Holes were never written: the file is sparse.
    const { stdout } = await execa('du', ['--block-size=1', app.rawDisk]);
    assert.ok(Number(stdout.split('\t')[0]) <= 6 * CHUNK_SIZE_BYTES + 65536);
    const r = await bootUntilMarker({ disk: app.vmdk, format: 'vmdk', marker, serialFile: join(dir, 'mixed.txt') });
    assert.ok(r.found);
  });

  it('rejects a bad name and a disk size that is not a multiple of 512', async () => {
    await assert.rejects(buildAppliance({ dir, name: '../x' }), RangeError);
    await assert.rejects(buildAppliance({ dir, diskSizeBytes: 1000 }), RangeError);
  });
});
