// ovf-env.xml (DSP8027) and the XML writer under it: every value reads back exactly through a
// conforming parser (libxml2's xmllint) and through virt-ovf's own reader.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { describe, it } from 'node:test';
import { create } from 'xmlbuilder2';
import { OVF_ENV_NS, ovfEnvironmentXml } from '../../src/ovf/environment.js';
import { parseXml } from '../../src/xml/parse.js';
import { serializeXml } from '../../src/xml/write.js';

/** The string value of an XPath expression over `xml`, read by xmllint; rejects when the XML is not well-formed. */
async function xpath(xml: string, expression: string): Promise<string> {
  const r = await execa('xmllint', ['--xpath', `string(${expression})`, '-'], { input: xml, stripFinalNewline: false });
  return String(r.stdout).replace(/\n$/, '');
}

const HARD = ['line 1\nline 2', '\tindented\t', 'crlf\r\nend', '& &amp; &lt; &#10; &#x9; &nbsp;', '<b>"quoted" \'single\'</b> ]]>', '  spaced  ', 'ünï €', ''];

describe('ovfEnvironmentXml', () => {
  const properties = HARD.map((value, i) => ({ key: `k${i}`, type: 'string', value, fromUser: true, password: false, userConfigurable: true }));
  const xml = ovfEnvironmentXml({ virtualSystemId: 'vm\n1', properties, nics: [{ mac: '52:54:00:00:00:01', ovfNetwork: 'VM\tNetwork & more' }], platformVersion: '1.0' });

  it('writes newline, tab and CR in values as character references', () => {
    assert.match(xml, /oe:key="k0" oe:value="line 1&#10;line 2"/);
    assert.match(xml, /oe:key="k1" oe:value="&#9;indented&#9;"/);
    assert.match(xml, /oe:key="k2" oe:value="crlf&#13;&#10;end"/);
    assert.match(xml, /oe:id="vm&#10;1"/);
  });

  it('round-trips every value exactly through libxml2', async () => {
    for (const [i, value] of HARD.entries()) {
      assert.equal(await xpath(xml, `//*[local-name()="Property"][@*[local-name()="key"]="k${i}"]/@*[local-name()="value"]`), value, `k${i}`);
    }
    assert.equal(await xpath(xml, '/*/@*[local-name()="id"]'), 'vm\n1');
    assert.equal(await xpath(xml, '//*[local-name()="Adapter"]/@*[local-name()="network"]'), 'VM\tNetwork & more');
  });

  it("round-trips every value exactly through virt-ovf's reader", () => {
    const root = parseXml(xml, 'ovf-env.xml');
    const section = root.children.find((c) => c.local === 'PropertySection')!;
    const read = section.children.map((p) => [p.attrs.get(`{${OVF_ENV_NS}}key`), p.attrs.get(`{${OVF_ENV_NS}}value`)]);
    assert.deepEqual(read, HARD.map((v, i) => [`k${i}`, v]));
  });
});

describe('serializeXml', () => {
  it('escapes text so that it reads back exactly, and replaces characters XML cannot carry', async () => {
    const doc = create({ version: '1.0' }).ele('root', { a: 'x\u0001y' });
    doc.ele('t').txt('a &amp; b\r\n<c> \u0002');
    const out = serializeXml(doc, { headless: true });
    assert.equal(await xpath(out, '/root/t'), 'a &amp; b\r\n<c> \uFFFD');
    assert.equal(await xpath(out, '/root/@a'), 'x\uFFFDy');
    assert.equal(parseXml(out, 'x.xml').children[0]!.text, 'a &amp; b\r\n<c> \uFFFD');
  });
});
