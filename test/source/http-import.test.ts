// import from an http(s):// URL on a real libvirtd: the boot appliance boots from a URL OVA, an https .ovf URL with its files beside it, a disk transfer dropped once (resumed) and for good (rolled back, exit 5).
import assert from 'node:assert/strict';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildAppliance, type ApplianceResult } from '../../scripts/appliance.js';
import { indexTar } from '../../src/archive/tar.js';
import { uniqueName, type ScratchPool } from '../libvirt/harness.js';
import { closeScratch, domainExists, openScratch, poolVolumes, runCli, waitForText } from '../commands/helpers.js';
import { startHttpServer, type TestServer } from '../harness/http-server.js';

describe('import from a URL', () => {
  let pool: ScratchPool;
  let work: string;
  let app: ApplianceResult;
  let server: TestServer;
  let noRanges: TestServer;
  let secure: TestServer;
  let big: ApplianceResult;
  /** A byte 256 KiB into the disk member of big.ova: beyond the first 64 KiB window, so only the disk transfers cross it. */
  let vmdkOffset: number;
  const domains: string[] = [];

  before(async () => {
    ({ pool, work } = await openScratch('http-import', { network: true }));
    app = await buildAppliance({ dir: join(work, 'app'), name: 'appliance', marker: `MARKER-URL-${Date.now()}`, manifest: 'sha256' });
    big = await buildAppliance({ dir: join(work, 'app'), name: 'big', content: 'mixed', diskSizeBytes: 8 * 2 ** 20, manifest: 'sha256' });
    server = await startHttpServer({ root: join(work, 'app') });
    noRanges = await startHttpServer({ root: join(work, 'app'), ranges: false });
    secure = await startHttpServer({ root: join(work, 'app'), tls: true });
    vmdkOffset = (await indexTar(big.ova!)).members.find((m) => m.name === 'big-disk1.vmdk')!.offset + 256 * 1024;
  });
  after(async () => {
    await server?.close();
    await noRanges?.close();
    await secure?.close();
    await closeScratch(pool, work, domains);
  });

  test('the boot appliance imported from an http:// OVA boots and prints its marker', async () => {
    const name = uniqueName('url-boot');
    domains.push(name);
    const serialLog = join(work, `${name}.serial.log`);
    const r = await runCli(['import', server.url('appliance.ova'), '--pool', pool.name, '--name', name, '--start', '--virt-type', 'qemu', '--serial-log', serialLog]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Manifest appliance\.mf: 2 file\(s\) verified/);
    const seen = await waitForText(serialLog, app.marker, 30_000);
    assert.ok(seen.found, `marker not on the serial console after ${seen.elapsedMs} ms; got: ${JSON.stringify(seen.content)}`);
    assert.ok((await poolVolumes(pool)).includes(`${name}-vmdisk1.qcow2`));
  });

  test('an https:// .ovf URL with its disk and manifest beside it is imported, the server trusted with --http-ca', async () => {
    const name = uniqueName('url-ovf');
    domains.push(name);
    const r = await runCli(['import', secure.url('appliance.ovf'), '--http-ca', secure.caFile!, '--pool', pool.name, '--name', name, '--virt-type', 'qemu']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Manifest appliance\.mf: 2 file\(s\) verified/);
    assert.ok(domainExists(name));
  });

  test('--ca (the CAs of the package signature) is trusted for the https:// server too, beside the system store', async () => {
    const name = uniqueName('url-ca');
    domains.push(name);
    const r = await runCli(['import', secure.url('appliance.ovf'), '--ca', secure.caFile!, '--pool', pool.name, '--name', name, '--virt-type', 'qemu']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(domainExists(name));
  });

  test('from a server without range support the OVA is imported in one pass, disks converted as they stream by', async () => {
    const name = uniqueName('url-oneshot');
    domains.push(name);
    const from = noRanges.requests.length;
    const r = await runCli(['import', noRanges.url('big.ova'), '--pool', pool.name, '--name', name, '--virt-type', 'qemu']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /in one pass/);
    assert.ok(domainExists(name));
    assert.deepEqual(noRanges.requests.slice(from).map((q) => q.method), ['GET'], 'one request: the body read once');
  });

  test('a disk transfer dropped once mid-disk is resumed and the import succeeds', async () => {
    const name = uniqueName('url-resumed');
    domains.push(name);
    server.dropAt('big.ova', vmdkOffset, 1);
    const r = await runCli(['import', server.url('big.ova'), '--pool', pool.name, '--name', name, '--virt-type', 'qemu']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(server.requests.some((q) => q.range?.startsWith(`bytes=${vmdkOffset}-`)), 'a range request resumed at the byte where the connection dropped');
    assert.ok(domainExists(name));
  });

  test('a disk transfer that keeps dropping is rolled back: exit 5, no domain, no volume, no temporary file', async () => {
    const name = uniqueName('url-dropped');
    domains.push(name);
    const before = await poolVolumes(pool);
    const tmp = join(work, 'tmp');
    await mkdir(tmp);
    server.dropAt('big.ova', vmdkOffset);
    try {
      const r = await runCli(['import', server.url('big.ova'), '--pool', pool.name, '--name', name, '--virt-type', 'qemu', '--tmpdir', tmp]);
      assert.equal(r.code, 5, r.stderr);
      assert.match(r.stderr, /big\.ova: the connection was dropped .*\(given up after 3 retries\)/);
      assert.match(r.stderr, /removing what this run created/);
    } finally {
      server.dropAt('big.ova', 0, 0);
    }
    assert.equal(domainExists(name), false);
    assert.deepEqual(await poolVolumes(pool), before);
    assert.deepEqual(await readdir(tmp), []);
  });
});
