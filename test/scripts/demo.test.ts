// Tests for scripts/demo.ts and scripts/demo/: the example appliance imported into libvirt's embedded QEMU driver
// (qemu:///embed, no daemon) and booted under TCG for real, plus its pure helpers.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { buildAppliance, DEFAULT_MARKER } from '../../scripts/appliance.js';
import { main } from '../../scripts/demo.js';
import { embedUri } from '../../scripts/demo/embedded.js';

/** A stream that keeps everything written to it. */
function collector(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
      cb();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

function onPath(command: string): boolean {
  return (process.env['PATH'] ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, command)));
}

/** Pids of processes whose command line mentions `needle` (QEMU guests of an embedded root). */
async function processesMentioning(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).replace(/\0/g, ' ');
      if (cmdline.includes('qemu-system') && cmdline.includes(needle)) pids.push(Number(entry));
    } catch {
      // Exited meanwhile.
    }
  }
  return pids;
}


describe('embedUri', () => {
  it('percent-encodes each path segment of the root', () => {
    assert.equal(embedUri('/var/tmp/embed'), 'qemu:///embed?root=/var/tmp/embed');
    assert.equal(embedUri('/tmp/a b/c&d'), 'qemu:///embed?root=/tmp/a%20b/c%26d');
  });
});

describe('demo main (real embedded libvirt driver, real QEMU)', () => {
  const haveQemu = onPath('qemu-system-x86_64');
  let dir: string;
  let ova: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'virt-ovf-demo-'));
    if (!haveQemu) return;
    const app = await buildAppliance({ dir: join(dir, 'example') });
    ova = app.ova!;
  });
  after(async () => {
    // Safety net: a guest of the embedded driver outlives its process, so stop any left over.
    for (const pid of await processesMentioning(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('imports the example OVA, boots it and finds the marker on the serial console', { timeout: 180_000 }, async (t) => {
    if (!haveQemu) {
      t.skip('qemu-system-x86_64 is not installed (apt install qemu-system-x86)');
      return;
    }
    const root = join(dir, 'embed-ok');
    const out = collector();
    const err = collector();
    const code = await main(['--ova', ova, '--root', root, '--timeout', '30'], { out: out.stream, err: err.stream });
    assert.equal(code, 0, `demo failed:\n${err.text()}\n${out.text()}`);
    const stdout = out.text();
    assert.match(stdout, new RegExp(`----- serial console of tinyvm [^\\n]*-----\\n${DEFAULT_MARKER}\\n----- end of serial console -----`));
    assert.match(stdout, /Demo OK: imported tinyvm/);
    assert.match(await readFile(join(root, 'images', 'tinyvm.xml'), 'utf8'), /<interface type="user">/);
    // What stays behind: the converted disk, the domain XML, the serial log; no guest, no definition.
    assert.ok((await readFile(join(root, 'serial.log'), 'latin1')).includes(DEFAULT_MARKER));
    assert.ok(existsSync(join(root, 'images', 'tinyvm-vmdisk1.qcow2')));
    assert.ok(existsSync(join(root, 'images', 'tinyvm.xml')));
    assert.ok(!existsSync(join(root, 'etc', 'qemu', 'tinyvm.xml')), 'the domain is still defined');
    assert.deepEqual(await processesMentioning(root), [], 'a QEMU process of the demo is still running');
    const log = await readFile(join(root, 'log', 'qemu', 'tinyvm.log'), 'utf8');
    assert.match(log, /-accel tcg/);
    assert.match(log, /"type":"user"/);
  });

  it('stops and undefines the guest when the marker never appears', { timeout: 180_000 }, async (t) => {
    if (!haveQemu) {
      t.skip('qemu-system-x86_64 is not installed (apt install qemu-system-x86)');
      return;
    }
    const root = join(dir, 'embed-timeout');
    const out = collector();
    const err = collector();
    const code = await main(['--ova', ova, '--root', root, '--marker', 'NEVER-PRINTED', '--timeout', '2'], { out: out.stream, err: err.stream });
    assert.equal(code, 1, `${err.text()}\n${out.text()}`);
    assert.match(err.text(), /no "NEVER-PRINTED" on the serial console within 2 s; serial output so far: "/);
    assert.ok(!existsSync(join(root, 'etc', 'qemu', 'tinyvm.xml')), 'the domain is still defined');
    assert.deepEqual(await processesMentioning(root), [], 'a QEMU process of the demo is still running');
  });

  it('refuses a root directory that is not empty', async () => {
    const root = join(dir, 'embed-busy');
    await mkdir(root, { recursive: true });
    await writeFile(join(root, 'leftover'), '');
    const out = collector();
    const err = collector();
    const code = await main(['--ova', join(dir, 'none.ova'), '--root', root], { out: out.stream, err: err.stream });
    assert.equal(code, 2, err.text());
    assert.match(err.text(), /is not empty/);
  });

  it('rejects a missing --root', async () => {
    const err = collector();
    assert.equal(await main([], { out: collector().stream, err: err.stream }), 2);
    assert.match(err.text(), /--root is required/);
  });
});
