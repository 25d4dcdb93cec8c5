// Hostile descriptors, end to end (issue 4, hostile input 7): DOCTYPE and entities, character
// references, prototype-pollution names, nesting depth, and sheer size; fast, bounded, nothing resolved.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { assertQemuCalls, assertRefused, dropImport } from './checks.js';
import { CANARY_TEXT, editOvf, packOva, setUp, stage, tearDown, TEST_URI, uniqueName, type Scene } from './kit.js';
import { importPkg, type Run } from './run.js';

/** Sanity bounds (not benchmarks): wall time of one CLI run, and peak RSS of a refusal. */
const MAX_MS = 5_000;
const MAX_RSS_KIB = 256 * 1024;

describe('hostile descriptors are refused fast, with bounded memory, nothing resolved', () => {
  let s: Scene;
  let big: string;

  before(async () => {
    s = await setUp('xml');
    // 100 MiB descriptor, written in 1 MiB chunks: a well-formed prefix, then one endless <Info>.
    big = join(s.work, 'big.ovf');
    const out = createWriteStream(big);
    const head = s.ovf.slice(0, s.ovf.indexOf('<References>'));
    out.write(`${head}<Info>`);
    const chunk = Buffer.alloc(2 ** 20, 'A');
    for (let i = 0; i < 100; i++) if (!out.write(chunk)) await once(out, 'drain');
    out.end('</Info></Envelope>\n');
    await once(out, 'finish');
  });
  after(() => tearDown(s));

  /** Packs `ovf` with the good disk, imports it measuring RSS, and reports time and memory. */
  async function attempt(t: TestContext, label: string, ovf: string, opts: { noName?: boolean; name?: string } = {}): Promise<Run> {
    const ova = await packOva(s, label, { 'app.ovf': ovf, 'app-disk1.vmdk': { copy: s.base.vmdk } });
    const run = await importPkg(s, ova, { rss: true, ...opts });
    t.diagnostic(`exit ${run.code}, ${Math.round(run.ms)} ms, peak RSS ${run.rssKiB ?? '?'} KiB`);
    return run;
  }

  /** Exit 3 with `message`, within MAX_MS and MAX_RSS_KIB, nothing left, the canary never echoed. */
  async function refused(run: Run, message: RegExp[]): Promise<void> {
    await assertRefused(s, run, { code: 3, message, qemu: 'none', maxMs: MAX_MS });
    if (run.rssKiB !== undefined) assert.ok(run.rssKiB < MAX_RSS_KIB, `peak RSS ${run.rssKiB} KiB`);
    assert.ok(!`${run.stdout}${run.stderr}`.includes(CANARY_TEXT.trim()), 'the canary was read into the output');
  }

  test('7. a DOCTYPE with an external SYSTEM entity naming the canary file', async (t) => {
    const ovf = editOvf(s.ovf, { name: '&xxe;' }).replace('<Envelope', `<!DOCTYPE Envelope [<!ENTITY xxe SYSTEM "file://${s.canary}">]>\n<Envelope`);
    await refused(await attempt(t, 'xxe', ovf), [/app\.ovf:3: a DOCTYPE declaration is not allowed in an OVF descriptor \(entities are never resolved\)/]);
  });

  test('7. billion laughs', async (t) => {
    const entities = ['<!ENTITY lol0 "lol">'];
    for (let i = 1; i <= 9; i++) entities.push(`<!ENTITY lol${i} "${`&lol${i - 1};`.repeat(10)}">`);
    const ovf = editOvf(s.ovf, { name: '&lol9;' }).replace('<Envelope', `<!DOCTYPE Envelope [${entities.join('')}]>\n<Envelope`);
    await refused(await attempt(t, 'laughs', ovf), [/a DOCTYPE declaration is not allowed in an OVF descriptor/]);
  });

  test('7. a megabyte of character references in <Name> decodes quickly; the name is cut to 64 safe characters', async (t) => {
    const tag = uniqueName('charref');
    const ovf = editOvf(s.ovf, { name: tag + '&#x41;'.repeat(Math.ceil(2 ** 20 / 6)) });
    const expected = (tag + 'A'.repeat(64)).slice(0, 64);
    const run = await attempt(t, 'charref', ovf, { noName: true, name: expected });
    try {
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`^Domain ${expected} \\(`));
      assert.ok(run.ms < MAX_MS, `took ${Math.round(run.ms)} ms`);
      if (run.rssKiB !== undefined) assert.ok(run.rssKiB < 512 * 1024, `peak RSS ${run.rssKiB} KiB`);
    } finally {
      await dropImport(s, run, expected);
    }
  });

  test('7. an element named __proto__', async (t) => {
    const ovf = editOvf(s.ovf, { replaceName: '<Name>app</Name><__proto__><polluted>yes</polluted></__proto__>' });
    await refused(await attempt(t, 'proto', ovf), [/app\.ovf: cannot parse XML: .*"__proto__" is a reserved JavaScript keyword that could cause prototype pollution/]);
  });

  test('7. an element named constructor', async (t) => {
    const ovf = editOvf(s.ovf, { replaceName: '<Name>app</Name><constructor><prototype><polluted>1</polluted></prototype></constructor>' });
    await refused(await attempt(t, 'ctor', ovf), [/app\.ovf: cannot parse XML: .*"constructor" is a reserved JavaScript keyword/]);
  });

  test('7. an attribute named __proto__', async (t) => {
    const ovf = s.ovf.replace('<VirtualSystem ovf:id="app">', '<VirtualSystem ovf:id="app" __proto__="polluted">');
    await refused(await attempt(t, 'proto-attr', ovf), [/app\.ovf: cannot parse XML: .*"__proto__"/]);
  });

  test('7. prefixed vmw:__proto__ / vmw:constructor and hasOwnProperty, toString elements are inert: a normal import', async (t) => {
    const ovf = editOvf(s.ovf, {
      replaceName: '<Name>app</Name><vmw:__proto__ vmw:constructor="x"><vmw:polluted>1</vmw:polluted></vmw:__proto__><hasOwnProperty/><toString>x</toString><valueOf/>',
    });
    const run = await attempt(t, 'proto-prefixed', ovf);
    try {
      assert.equal(run.code, 0, run.stderr);
      assertQemuCalls(s, run);
      const xml = (await execa('virsh', ['-c', TEST_URI, 'dumpxml', run.name])).stdout;
      assert.match(xml, /<memory unit='KiB'>65536<\/memory>/);
      assert.match(xml, /<vcpu placement='static'>1<\/vcpu>/);
      assert.doesNotMatch(xml, /polluted/);
    } finally {
      await dropImport(s, run);
    }
  });

  test('7. elements nested 10000 deep', async (t) => {
    const ovf = editOvf(s.ovf, { replaceName: `<Name>app</Name>${'<a>'.repeat(10_000)}${'</a>'.repeat(10_000)}` });
    await refused(await attempt(t, 'deep', ovf), [/app\.ovf: cannot parse XML: Maximum nested tags exceeded/]);
  });

  test('7. a 100 MiB descriptor in an OVA', async (t) => {
    const ova = await packOva(s, 'huge', { 'app.ovf': { copy: big }, 'app-disk1.vmdk': { copy: s.base.vmdk } });
    const run = await importPkg(s, ova, { rss: true });
    t.diagnostic(`exit ${run.code}, ${Math.round(run.ms)} ms, peak RSS ${run.rssKiB ?? '?'} KiB`);
    await refused(run, [/app\.ovf is 1048\d{5} bytes, larger than the 16777216-byte limit for this kind of file/]);
  });

  test('7. a 100 MiB descriptor in a package directory', async (t) => {
    const dir = await stage(s, 'huge-dir', { 'app-disk1.vmdk': { copy: s.base.vmdk } });
    await execa('mv', [big, join(dir, 'app.ovf')]);
    const run = await importPkg(s, join(dir, 'app.ovf'), { rss: true });
    t.diagnostic(`exit ${run.code}, ${Math.round(run.ms)} ms, peak RSS ${run.rssKiB ?? '?'} KiB`);
    await refused(run, [/app\.ovf is 1048\d{5} bytes, larger than the 16777216-byte limit for this kind of file/]);
  });

  test(
    '7. a 15 MiB descriptor of 2 million empty elements (just under the 16 MiB cap) is refused or parsed within 5 s and 512 MiB',
    async (t) => {
      const ovf = editOvf(s.ovf, { replaceName: `<Name>app</Name>${'<vmw:X/>'.repeat((15 * 2 ** 20) / 8)}` });
      const run = await attempt(t, 'many', ovf);
      try {
        assert.ok(run.ms < MAX_MS, `took ${Math.round(run.ms)} ms`);
        if (run.rssKiB !== undefined) assert.ok(run.rssKiB < 512 * 1024, `peak RSS ${run.rssKiB} KiB`);
      } finally {
        await dropImport(s, run);
      }
    },
  );
});
