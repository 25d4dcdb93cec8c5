// `virt-ovf export` never destroys: an existing output is exit 2 naming it unless --force, and even
// --force never replaces a domain's disk or a pool volume (real libvirtd, real files, byte-compared).
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { linkSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { debris, fingerprint, useHeldFixture, type HeldFixture } from '../export/held-fixture.js';
import { runCli } from './helpers.js';

describe('export never destroys', () => {
  const ctx = useHeldFixture('force');

  test('an existing OVA is exit 2 naming it, and stays byte-identical', async () => {
    const ova = join(ctx.work, 'existing.ova');
    writeFileSync(ova, 'an older export the user still needs\n');
    const before = fingerprint(ova);
    const r = await runCli(['export', ctx.fx.exported.name, '-o', ova]);
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stderr.includes(`${ova} already exists`), r.stderr);
    assert.match(r.stderr, /--force/);
    assert.equal(fingerprint(ova), before);
    assert.deepEqual(debris(ctx.work), []);
  });

  test('an existing file inside DIR/ (a disk file, named only after mapping) is exit 2 naming it; nothing is added', async () => {
    const dir = join(ctx.work, 'dir-out');
    mkdirSync(dir);
    const vmdk = join(dir, `${ctx.fx.exported.name}-disk1.vmdk`);
    writeFileSync(vmdk, 'somebody else\'s disk\n');
    const before = fingerprint(vmdk);
    const r = await runCli(['export', ctx.fx.exported.name, '-o', `${dir}/`]);
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stderr.includes(`${vmdk} already exists`), r.stderr);
    assert.equal(fingerprint(vmdk), before);
    assert.deepEqual(readdirSync(dir), [`${ctx.fx.exported.name}-disk1.vmdk`], 'no .ovf, .mf or .part was left');
    assert.deepEqual(debris(ctx.work), []);
  });

  test('--force replaces an unrelated existing OVA with a complete package', async () => {
    const ova = join(ctx.work, 'replace-me.ova');
    writeFileSync(ova, 'stale\n');
    const r = await runCli(['export', ctx.fx.exported.name, '-o', ova, '--force']);
    assert.equal(r.code, 0, r.stderr);
    const members = String((await execa('tar', ['-tf', ova])).stdout).split('\n');
    assert.deepEqual(members, [`${ctx.fx.exported.name}.ovf`, `${ctx.fx.exported.name}.mf`, `${ctx.fx.exported.name}-disk1.vmdk`]);
    assert.deepEqual(debris(ctx.work), []);
  });

  test('--force replaces an existing file inside DIR/ with the package file', async () => {
    const dir = join(ctx.work, 'dir-force');
    mkdirSync(dir);
    const ovf = join(dir, `${ctx.fx.exported.name}.ovf`);
    writeFileSync(ovf, 'old descriptor\n');
    const r = await runCli(['export', ctx.fx.exported.name, '-o', `${dir}/`, '--force']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(readFileSync(ovf, 'utf8'), /<Envelope/);
    assert.deepEqual(readdirSync(dir).sort(), [`${ctx.fx.exported.name}-disk1.vmdk`, `${ctx.fx.exported.name}.mf`, `${ctx.fx.exported.name}.ovf`]);
  });

  const held: [string, (f: HeldFixture) => string, RegExp][] = [
    ["the exported domain's own disk", (f) => f.exported.disk, /is a disk of domain "[^"]*-own-/],
    ["another domain's disk", (f) => f.other.disk, /is a disk of domain "[^"]*-other-/],
    ['a volume of a pool', (f) => f.volume, /is volume "spare\.qcow2" of pool "/],
  ];
  for (const [what, target, owner] of held) {
    test(`--force refuses to replace ${what}: exit 2, the path and its holder named, byte-identical`, async () => {
      const path = target(ctx.fx);
      const before = fingerprint(path);
      const r = await runCli(['export', ctx.fx.exported.name, '-o', path, '--force']);
      assert.equal(r.code, 2, r.stderr);
      assert.ok(r.stderr.includes(path), r.stderr);
      assert.match(r.stderr, owner);
      assert.equal(fingerprint(path), before);
      assert.deepEqual(readdirSync(join(path, '..')).filter((f) => f.endsWith('.part')), []);
    });
  }

  test('--force refuses a hard link to a domain disk (same device and inode under another name)', async () => {
    const alias = join(ctx.work, 'alias.ova');
    linkSync(ctx.fx.other.disk, alias);
    const before = fingerprint(ctx.fx.other.disk);
    const r = await runCli(['export', ctx.fx.exported.name, '-o', alias, '--force']);
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stderr.includes(alias), r.stderr);
    assert.match(r.stderr, /is a disk of domain "[^"]*-other-/);
    assert.equal(fingerprint(ctx.fx.other.disk), before);
    assert.equal(fingerprint(alias), before);
  });
});
