// Export reads exactly what the guest sees (issue 9 item 4): a qcow2 overlay over a backing file
// with distinct data (the image's own backing file, and a <backingStore> chain in the domain XML
// that differs from it), a block device (a loop device), and NBD network disks (TCP and a Unix
// socket; also running, through the backup job), each exported as VMDK, qcow2 and raw and
// compared with `qemu-img compare` to the disk as QEMU opens it. Before: qcow2/raw exports of an overlay held zeros where the backing file has
// data, a block device failed ('file' driver), network disks were left out with a warning.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TEST_URI } from '../libvirt/harness.js';
import { assertNothingLeft, assertUnchanged, compareToGuest, defineWithDisks, diskXml, exportedDisks, fingerprints, freePort, openScratch, runCli, startNbdServer, type Scratch } from './exportsrc-kit.js';
import { assertCleanupFindsNothing } from './cleanup-check.js';

const FORMATS = [
  { flag: 'vmdk', ext: 'vmdk', output: (base: string) => `${base}.ova` },
  { flag: 'qcow2', ext: 'qcow2', output: (base: string) => `${base}-qcow2/` },
  { flag: 'raw', ext: 'img', output: (base: string) => `${base}-raw/` },
] as const;

/** qemu-io commands on an image of `format`. */
async function qemuIo(format: string, image: string, ...commands: string[]): Promise<void> {
  await execa('qemu-io', ['-f', format, ...commands.flatMap((c) => ['-c', c]), image]);
}

/**
 * Exports `domain` in every format and compares each exported disk, in domain order, with
 * `guests[i]` (a path opened with -f `guestFormats[i]`, or a json: filename). Asserts exit 0,
 * the files `unchanged` byte-identical and nothing left behind.
 */
async function exportAndCompare(s: Scratch, domain: string, guests: readonly { image: string; format?: string }[], unchanged: readonly string[]): Promise<void> {
  const before = await fingerprints(unchanged);
  for (const f of FORMATS) {
    const output = f.output(join(s.dir, `${domain}-out`));
    const r = await runCli(s, ['export', domain, '-o', output, '--disk-format', f.flag]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /left out of the OVF/, 'no disk left out');
    const disks = await exportedDisks(output.replace(/\/$/, ''), f.ext);
    assert.equal(disks.length, guests.length, `${f.flag}: one file per disk`);
    for (const [i, g] of guests.entries()) await compareToGuest(g.image, g.format, disks[i]!, f.flag);
    await assertNothingLeft(s, output, { kept: true });
  }
  await assertUnchanged(before);
}

describe('export reads each disk as the guest sees it', () => {
  after(assertCleanupFindsNothing);
  let s: Scratch;
  before(async () => {
    s = await openScratch('exportsrc-disks');
  });
  after(async () => {
    await s?.cleanup();
  });

  it('a qcow2 overlay: its own backing file, and a <backingStore> chain of the domain XML that differs from it', async () => {
    const base = join(s.dir, 'base.qcow2');
    const other = join(s.dir, 'other-base.qcow2');
    const overlay = join(s.dir, 'overlay.qcow2');
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', base, '16M']);
    await qemuIo('qcow2', base, 'write -P 0x41 0 1M', 'write -P 0x42 8M 1M', 'write -P 0x45 15M 64k');
    await copyFile(base, other);
    await qemuIo('qcow2', other, 'write -P 0x44 0 2M');
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', overlay]);
    await qemuIo('qcow2', overlay, 'write -P 0x43 8M 64k', 'write -z 0 64k');

    const own = await defineWithDisks(s, 'xs-overlay', diskXml('file', 'qcow2', 'vda', `<source file='${overlay}'/>`));
    await exportAndCompare(s, own, [{ image: overlay, format: 'qcow2' }], [base, other, overlay]);

    const chain = `<source file='${overlay}'/><backingStore type='file'><format type='qcow2'/><source file='${other}'/><backingStore/></backingStore>`;
    const explicit = await defineWithDisks(s, 'xs-chain', diskXml('file', 'qcow2', 'vda', chain));
    const guest = `json:${JSON.stringify({ driver: 'qcow2', file: { driver: 'file', filename: overlay }, backing: { driver: 'qcow2', file: { driver: 'file', filename: other }, backing: null } })}`;
    await exportAndCompare(s, explicit, [{ image: guest }], [base, other, overlay]);
    const header = await execa('qemu-img', ['compare', '-f', 'qcow2', '-F', 'qcow2', overlay, guest], { reject: false });
    assert.equal(header.exitCode, 1, 'the XML chain really differs from the image header chain');
  });

  it('a block device (a loop device)', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root for losetup');
    const backing = join(s.dir, 'loop.img');
    await execa('truncate', ['-s', '24M', backing]);
    const made = await execa('losetup', ['-f', '--show', backing], { reject: false });
    if (made.exitCode !== 0) return t.skip(`losetup cannot attach a loop device here: ${String(made.stderr)}`);
    const dev = String(made.stdout).trim();
    try {
      await qemuIo('raw', dev, 'write -P 0x5a 0 1M', 'write -P 0x11 20M 512k');
      const name = await defineWithDisks(s, 'xs-block', diskXml('block', 'raw', 'vda', `<source dev='${dev}'/>`));
      await exportAndCompare(s, name, [{ image: dev, format: 'raw' }], [dev]);
    } finally {
      await execa('losetup', ['-d', dev], { reject: false });
    }
  });

  it('NBD network disks, over TCP on loopback and over a Unix socket', async () => {
    const tcpImage = join(s.dir, 'nbd-tcp.raw');
    const unixImage = join(s.dir, 'nbd-unix.raw');
    for (const [image, pattern] of [[tcpImage, 0x61], [unixImage, 0x62]] as const) {
      await execa('truncate', ['-s', '12M', image]);
      await qemuIo('raw', image, `write -P ${pattern} 1M 1M`, `write -P ${pattern + 2} 11M 4k`);
    }
    const port = await freePort();
    const socket = join(s.dir, 'nbd.sock');
    // Writable servers: the domain is also started, and QEMU opens its disks read-write.
    const stops = [await startNbdServer(tcpImage, { port }, 'tcpdisk', { readOnly: false }), await startNbdServer(unixImage, { socket }, 'unixdisk', { readOnly: false })];
    try {
      const disks =
        diskXml('network', 'raw', 'vda', `<source protocol='nbd' name='tcpdisk'><host name='127.0.0.1' port='${port}'/></source>`) +
        diskXml('network', 'raw', 'vdb', `<source protocol='nbd' name='unixdisk'><host transport='unix' socket='${socket}'/></source>`);
      const name = await defineWithDisks(s, 'xs-nbd', disks);
      await exportAndCompare(s, name, [{ image: tcpImage, format: 'raw' }, { image: unixImage, format: 'raw' }], [tcpImage, unixImage]);
      // Running, the domain's network disks go through the backup job like any other disk.
      await execa('virsh', ['-c', TEST_URI, 'start', name]);
      const output = join(s.dir, `${name}-live.ova`);
      const live = await runCli(s, ['export', name, '-o', output]);
      await execa('virsh', ['-c', TEST_URI, 'destroy', name]);
      assert.equal(live.code, 0, live.stderr);
      assert.match(live.stdout, /\(running: point-in-time copy\)/);
      const copies = await exportedDisks(output, 'vmdk');
      assert.equal(copies.length, 2);
      await compareToGuest(tcpImage, 'raw', copies[0]!, 'vmdk');
      await compareToGuest(unixImage, 'raw', copies[1]!, 'vmdk');
      await assertNothingLeft(s, output, { kept: true });
    } finally {
      for (const stop of stops) await stop();
    }
  });
});
