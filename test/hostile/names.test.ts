// Names and identity, end to end (issue 4, hostile input 9): hostile VirtualSystem names and
// --name values are made safe; a hostile package path reaches the metadata escaped; an existing
// domain, volume or UUID is never overwritten.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { execa } from 'execa';
import { readFile, rename, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensureDefaultNetwork, poolVolumes, removeDomain } from '../commands/helpers.js';
import { tinyDomainXml } from '../libvirt/harness.js';
import { assertQemuCalls, assertRefused, assertTreeUnchanged, dropImport } from './checks.js';
import { baseFiles, editOvf, packOva, setUp, tearDown, TEST_URI, uniqueName, type Scene } from './kit.js';
import { importPkg, type Run } from './run.js';

const SAFE = /^[A-Za-z0-9._+-]{1,64}$/;

const virsh = async (...args: string[]) => (await execa('virsh', ['-c', TEST_URI, ...args])).stdout;

describe('hostile names are made safe; existing objects are never overwritten', () => {
  let s: Scene;
  const defined: string[] = [];

  before(async () => {
    s = await setUp('names');
    await ensureDefaultNetwork();
  });
  after(async () => {
    for (const d of defined) await removeDomain(d);
    await tearDown(s);
  });

  /**
   * Imports a package whose VirtualSystem <Name> is `name` (no --name), and checks: exit 0, a safe
   * domain name containing `tag`, only safe volume files added to the pool, nothing else on the
   * host named after `tag` except under the safe name. Returns the run and the domain name.
   */
  async function safeImport(label: string, name: string, tag: string, args: string[] = []): Promise<{ run: Run; domain: string }> {
    const ova = await packOva(s, label, { 'app.ovf': editOvf(s.ovf, { name }), 'app-disk1.vmdk': { copy: s.base.vmdk } });
    const run = await importPkg(s, ova, { noName: true, name: tag, args });
    const domain = /^Domain (\S+) \(/m.exec(run.stdout)?.[1] ?? '';
    try {
      assert.equal(run.code, 0, run.stderr);
      assertQemuCalls(s, run);
      assert.match(domain, SAFE);
      assert.ok(domain.includes(tag), domain);
      const added = (await poolVolumes(s.pool)).filter((v) => !run.before.pool.includes(v));
      assert.deepEqual(added, [`${domain}-vmdisk1.qcow2`]);
      const found = (await execa('find', ['/tmp', '/etc', '/var', '/run', '-xdev', '-path', `*${tag}*`], { reject: false })).stdout.split('\n').filter(Boolean);
      // libvirt names some per-run directories domain-ID-SHORTNAME (the first 20 characters).
      const ok = (component: string) => component.includes(domain) || component === `domain-${/^domain-(\d+)-/.exec(component)?.[1]}-${domain.slice(0, 20)}`;
      const stray = found.filter((p) => !p.startsWith(`${s.work}/`) && !ok(p.split('/').find((c) => c.includes(tag)) ?? ''));
      assert.deepEqual(stray, [], 'files named after the hostile name, outside the safe name');
      assert.ok(found.some((p) => p === join(s.pool.path, `${domain}-vmdisk1.qcow2`)));
      await assertTreeUnchanged(s, run);
    } catch (err) {
      await dropImport(s, run, domain || tag);
      throw err;
    }
    return { run, domain };
  }

  test('9. a VirtualSystem Name with "/" and ".." (started with --start)', async () => {
    const tag = uniqueName('slash');
    const { run, domain } = await safeImport('slash', `../../${tag}/etc/../evil`, tag, ['--start']);
    try {
      assert.match(run.stdout, /defined and started/);
      assert.ok(!domain.includes('/') && !domain.includes('..'), domain);
      assert.match(await virsh('domstate', domain), /running/);
    } finally {
      await dropImport(s, run, domain);
    }
  });

  test('9. a VirtualSystem Name with control characters (TAB, LF, CR, DEL, C1 NEL and CSI)', async () => {
    const tag = uniqueName('ctl');
    const { run, domain } = await safeImport('ctl', `${tag}&#9;a&#10;b&#13;c&#x7f;d&#x85;e&#x9b;[31m`, tag);
    await dropImport(s, run, domain);
    assert.doesNotMatch(domain, /[\u0000-\u001f\u007f-\u009f]/);
  });

  test('9. a VirtualSystem Name of 300 characters is cut to 64', async () => {
    const tag = uniqueName('long');
    const { run, domain } = await safeImport('long', tag + 'N'.repeat(300 - tag.length), tag);
    await dropImport(s, run, domain);
    assert.equal(domain, (tag + 'N'.repeat(64)).slice(0, 64));
  });

  test('9. a hostile --name is made safe, with a warning', async () => {
    const tag = uniqueName('arg');
    const ova = await packOva(s, 'arg', baseFiles(s));
    const run = await importPkg(s, ova, { noName: true, name: `${tag}_evil`, args: ['--name', `../${tag}/evil\u0001`] });
    try {
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, new RegExp(`warning: --name "\\.\\./${tag}/evil(\\\\u0001|\x01)" is not safe for libvirt and file names; using "${tag}_evil"`));
      assert.match(run.stdout, new RegExp(`^Domain ${tag}_evil \\(`));
    } finally {
      await dropImport(s, run);
    }
  });

  test(
    '9. package text echoed to the terminal carries no raw control characters (no forged lines, no C1 escapes)',
    async () => {
      const ovf = editOvf(s.ovf, {}).replace('ovf:id="app"', 'ovf:id="app&#x9b;2J&#10;virt-ovf: error: forged&#x7f;"');
      const run = await importPkg(s, await packOva(s, 'echo', { 'app.ovf': ovf, 'app-disk1.vmdk': { copy: s.base.vmdk } }));
      try {
        assert.equal(run.code, 0, run.stderr);
        assert.doesNotMatch(run.stderr, /^virt-ovf: error: forged/m, 'a package forged a line of output');
        assert.doesNotMatch(`${run.stdout}${run.stderr}`, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/, 'raw control character in the output');
      } finally {
        await dropImport(s, run);
      }
    },
  );

  test('9. a package path with control characters, "&amp;" and a newline: libvirt takes the domain, its metadata names the path', async () => {
    const hostile = join(s.pkgDir, 'ctl\u0001path &amp; <x>\n\t.ova');
    await rename(await packOva(s, 'ctlpath', baseFiles(s)), hostile);
    const run = await importPkg(s, hostile);
    try {
      assert.equal(run.code, 0, run.stderr);
      const xml = await virsh('dumpxml', run.name);
      const read = await execa('xmllint', ['--xpath', 'string(/domain/metadata/*[local-name()="import"]/@source)', '-'], { input: xml, stripFinalNewline: false });
      assert.equal(String(read.stdout).replace(/\n$/, ''), hostile.replace('\u0001', '\uFFFD'), 'the C0 control replaced, everything else exact');
    } finally {
      await dropImport(s, run);
    }
  });

  test('9. an existing domain of the same name: exit 4, the domain untouched', async () => {
    const name = uniqueName('taken');
    await writeFile(join(s.work, 'taken.xml'), tinyDomainXml(name));
    await virsh('define', join(s.work, 'taken.xml'));
    defined.push(name);
    const xml = await virsh('dumpxml', name);
    const run = await importPkg(s, await packOva(s, 'taken', baseFiles(s)), { name });
    assert.equal(run.code, 4, run.stderr);
    assert.match(run.stderr, new RegExp(`a domain named "${name}" already exists; choose another name with --name`));
    assert.equal(await virsh('dumpxml', name), xml, 'the existing domain changed');
    assert.deepEqual(await poolVolumes(s.pool), run.before.pool);
    assert.deepEqual(run.qemu, []);
  });

  test('9. an existing volume of the same name: exit 4, its bytes untouched', async () => {
    const name = uniqueName('voltaken');
    const existing = join(s.pool.path, `${name}-vmdisk1.qcow2`);
    await writeFile(existing, 'precious bytes that are not even an image\n');
    await virsh('pool-refresh', s.pool.name);
    try {
      const run = await importPkg(s, await packOva(s, 'voltaken', baseFiles(s)), { name });
      await assertRefused(s, run, { code: 4, message: [new RegExp(`volume "${name}-vmdisk1\\.qcow2" already exists in pool "${s.pool.name}"; choose another domain name with --name`)] });
      assert.equal(await readFile(existing, 'utf8'), 'precious bytes that are not even an image\n');
    } finally {
      await rm(existing, { force: true });
      await virsh('pool-refresh', s.pool.name);
    }
  });

  test('9. a descriptor carrying the UUID of an existing domain: a fresh UUID, the other domain untouched', async () => {
    const other = uniqueName('uuid-owner');
    const uuid = randomUUID();
    await writeFile(join(s.work, 'owner.xml'), tinyDomainXml(other).replace('</name>', `</name>\n  <uuid>${uuid}</uuid>`));
    await virsh('define', join(s.work, 'owner.xml'));
    defined.push(other);
    const xml = await virsh('dumpxml', other);
    const ovf = editOvf(s.ovf, {}).replace('<vssd:VirtualSystemIdentifier>app<', `<vssd:VirtualSystemIdentifier>${uuid}<`).replace('ovf:id="app"', `ovf:id="${uuid}"`);
    assert.ok(ovf.includes(`<vssd:VirtualSystemIdentifier>${uuid}<`));
    const run = await importPkg(s, await packOva(s, 'uuid', { 'app.ovf': ovf, 'app-disk1.vmdk': { copy: s.base.vmdk } }));
    try {
      assert.equal(run.code, 0, run.stderr);
      const fresh = (await virsh('domuuid', run.name)).trim();
      assert.notEqual(fresh, uuid);
      assert.equal(await virsh('dumpxml', other), xml, 'the domain owning the UUID changed');
    } finally {
      await dropImport(s, run);
    }
  });
});
