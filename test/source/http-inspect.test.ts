// inspect of a package at an http(s) URL, end to end through the CLI against a loopback server: what is read, TLS, redirects, failures, headers.
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildAppliance, type ApplianceResult } from '../../scripts/appliance.js';
import { runCli } from '../commands/helpers.js';
import { memberBytes, tarOf } from '../archive/tar-writer.js';
import { startHttpServer, type TestServer } from '../harness/http-server.js';

describe('inspect of a URL', () => {
  let work: string;
  let app: ApplianceResult;
  let plain: TestServer;
  let secure: TestServer;
  const servers: TestServer[] = [];

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'virt-ovf-http-inspect-'));
    // 48 MiB of mixed content: an OVA of several MiB, so that reading any of the disk shows.
    app = await buildAppliance({ dir: join(work, 'app'), name: 'appliance', content: 'mixed', diskSizeBytes: 48 * 2 ** 20 });
    plain = await startHttpServer({ root: join(work, 'app') });
    secure = await startHttpServer({ root: join(work, 'app'), tls: true });
    servers.push(plain, secure);
  });
  after(async () => {
    for (const s of servers) await s.close();
    await rm(work, { recursive: true, force: true });
  });

  test('of an OVA transfers only the tar headers, the descriptor and the manifest, and says how many bytes', async () => {
    const ovaBytes = (await stat(app.ova!)).size;
    const before = plain.bytesServed;
    const r = await runCli(['inspect', plain.url('appliance.ova'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { package: { kind: string; bytesTransferred: number }; disks: { file?: string; fileSizeBytes?: number; present: boolean }[] };
    const served = plain.bytesServed - before;
    assert.equal(report.package.kind, 'ova');
    assert.ok(report.package.bytesTransferred > 0 && report.package.bytesTransferred <= served, `reported ${report.package.bytesTransferred}, served ${served}`);
    assert.ok(served < 256 * 1024 && served * 20 < ovaBytes, `served ${served} bytes of a ${ovaBytes}-byte OVA`);
    const vmdkBytes = (await stat(app.vmdk)).size;
    assert.deepEqual(report.disks.filter((d) => d.file).map((d) => [d.file, d.fileSizeBytes, d.present]), [['appliance-disk1.vmdk', vmdkBytes, true]]);
    const text = await runCli(['inspect', plain.url('appliance.ova')]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^Transferred: +\d+ bytes from the server/m);
  });

  test('of an .ovf finds its files beside it with HEAD and reads no disk byte', async () => {
    const from = plain.requests.length;
    const r = await runCli(['inspect', plain.url('appliance.ovf'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { package: { kind: string; bytesTransferred: number }; disks: { file?: string; present: boolean }[] };
    assert.equal(report.package.kind, 'ovf');
    assert.ok(report.disks.some((d) => d.file === 'appliance-disk1.vmdk' && d.present));
    const seen = plain.requests.slice(from);
    assert.ok(seen.some((q) => q.method === 'HEAD' && q.path === '/appliance-disk1.vmdk'), JSON.stringify(seen.map((q) => `${q.method} ${q.path}`)));
    assert.ok(!seen.some((q) => q.method === 'GET' && q.path === '/appliance-disk1.vmdk'));
    assert.ok(report.package.bytesTransferred < 64 * 1024, String(report.package.bytesTransferred));
  });

  test('over https: trusted with --http-ca, refused with the system store or another CA, naming --http-ca', async () => {
    const ok = await runCli(['inspect', secure.url('appliance.ova'), '--http-ca', secure.caFile!]);
    assert.equal(ok.code, 0, ok.stderr);
    const untrusted = await runCli(['inspect', secure.url('appliance.ova')]);
    assert.equal(untrusted.code, 2, untrusted.stderr);
    assert.match(untrusted.stderr, /the server's certificate is not trusted .*--http-ca FILE/);
    const other = await startHttpServer({ root: join(work, 'app'), tls: true });
    servers.push(other);
    const wrong = await runCli(['inspect', secure.url('appliance.ova'), '--http-ca', other.caFile!]);
    assert.equal(wrong.code, 2, wrong.stderr);
    assert.match(wrong.stderr, /not trusted .*trusted: --http-ca /);
    assert.doesNotMatch(wrong.stderr, /^\s+at /m);
  });

  test('follows up to 5 redirects, refuses a sixth and a redirect from https to http', async () => {
    for (let i = 1; i <= 6; i++) plain.redirect(`hop${i}`, i === 6 ? 'appliance.ova' : `hop${i + 1}`, i % 2 ? 302 : 301);
    const five = await runCli(['inspect', plain.url('hop2'), '--json']);
    assert.equal(five.code, 0, five.stderr);
    const six = await runCli(['inspect', plain.url('hop1')]);
    assert.equal(six.code, 2, six.stderr);
    assert.match(six.stderr, /more than 5 redirects/);
    secure.redirect('down.ova', plain.url('appliance.ova'));
    const down = await runCli(['inspect', secure.url('down.ova'), '--http-ca', secure.caFile!]);
    assert.equal(down.code, 2, down.stderr);
    assert.match(down.stderr, /redirects from https to plain http .*refused/);
  });

  test('404 is exit 2 and 500 exit 5, each with a message naming the URL and the status', async () => {
    const missing = await runCli(['inspect', plain.url('nothing.ova')]);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /\/nothing\.ova: not found on the server \(HTTP 404 Not Found\); check the URL/);
    plain.fail('broken.ova', 500);
    const broken = await runCli(['inspect', plain.url('broken.ova')]);
    assert.equal(broken.code, 5, broken.stderr);
    assert.match(broken.stderr, /\/broken\.ova: the server failed \(HTTP 500 Internal Server Error\)/);
  });

  test('an Authorization header comes from --http-header-file or $VIRT_OVF_HTTP_HEADER and is never printed, not even with -v', async () => {
    const secret = 'Bearer s3cr3t-t0ken-4711';
    const guarded = await startHttpServer({ root: join(work, 'app'), requireHeader: ['authorization', secret] });
    servers.push(guarded);
    const denied = await runCli(['inspect', guarded.url('appliance.ova')]);
    assert.equal(denied.code, 2, denied.stderr);
    assert.match(denied.stderr, /refused access \(HTTP 401 Unauthorized\).*--http-header-file/);
    const headers = join(work, 'headers');
    await writeFile(headers, `# token for the test server\nAuthorization: ${secret}\n`, { mode: 0o600 });
    const withFile = await runCli(['inspect', guarded.url('appliance.ova'), '--http-header-file', headers, '-v']);
    assert.equal(withFile.code, 0, withFile.stderr);
    const withEnv = await runCli(['inspect', guarded.url('appliance.ovf'), '-v', '--json'], { env: { VIRT_OVF_HTTP_HEADER: `Authorization: ${secret}` } });
    assert.equal(withEnv.code, 0, withEnv.stderr);
    for (const out of [withFile.stdout, withFile.stderr, withEnv.stdout, withEnv.stderr]) assert.ok(!out.includes('s3cr3t'), out);
    assert.ok(guarded.requests.filter((q) => q.headers.authorization === secret).length >= 3);
    await writeFile(headers, `Authorization ${secret}\n`);
    const bad = await runCli(['inspect', guarded.url('appliance.ova'), '--http-header-file', headers]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /header file .* line 1: expected "Name: value"/);
    assert.ok(!bad.stderr.includes('s3cr3t'), bad.stderr);
  });

  test('an .ovf href that leaves the URL directory (.., another host) is refused and never requested', async () => {
    const dir = join(work, 'hostile');
    const { mkdir, readFile } = await import('node:fs/promises');
    await mkdir(join(dir, 'pkg'), { recursive: true });
    const ovf = (await readFile(app.ovf, 'utf8')).replace('ovf:href="appliance-disk1.vmdk"', 'ovf:href="../outside.vmdk"');
    assert.notEqual(ovf, await readFile(app.ovf, 'utf8'));
    await writeFile(join(dir, 'pkg', 'evil.ovf'), ovf);
    await writeFile(join(dir, 'outside.vmdk'), 'secret');
    const server = await startHttpServer({ root: dir });
    servers.push(server);
    const r = await runCli(['inspect', server.url('pkg/evil.ovf')]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /"\.\.\/outside\.vmdk" contains a "\.\." path step/);
    assert.ok(!server.requests.some((q) => q.path.includes('outside')), JSON.stringify(server.requests.map((q) => q.path)));
  });

  test('a hostile OVA at a URL is refused as a local one is: a member named ../ (exit 3)', async () => {
    const { readFile } = await import('node:fs/promises');
    const descriptor = await readFile(app.ovf);
    await writeFile(join(work, 'app', 'traversal.ova'), tarOf(memberBytes({ name: 'appliance.ovf', data: descriptor }), memberBytes({ name: '../../etc/evil', data: 'x' })));
    const r = await runCli(['inspect', plain.url('traversal.ova')]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /member "\.\.\/\.\.\/etc\/evil" contains a "\.\." path step/);
  });
});
