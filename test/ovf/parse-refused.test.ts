// parseEnvelope refuses hostile and broken descriptors with an OvfParseError naming file, element and reason.

import assert from 'node:assert/strict';
import { statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { withTempDir } from './helpers.js';
import { parseEnvelope } from '../../src/ovf/parse.js';
import { assertRefused, envelope, OVF1 } from './parse-helpers.js';

describe('parseEnvelope: refused input', () => {
  it('refuses a DOCTYPE with an external SYSTEM entity and never reads the entity file', async () => {
    await withTempDir(async (dir) => {
      const secret = join(dir, 'secret.txt');
      const content = 'TOP-SECRET-7f3a9c';
      writeFileSync(secret, content);
      const old = new Date('2001-01-01T00:00:00Z');
      utimesSync(secret, old, new Date());
      const text = `<?xml version="1.0"?>\n<!DOCTYPE Envelope [\n  <!ENTITY xxe SYSTEM "file://${secret}">\n]>\n<Envelope xmlns="${OVF1}" xmlns:ovf="${OVF1}">\n  <VirtualSystem ovf:id="&xxe;"><Info>&xxe;</Info><Name>&xxe;</Name><VirtualHardwareSection><Info>&xxe;</Info></VirtualHardwareSection></VirtualSystem>\n</Envelope>\n`;
      const err = assertRefused(text, /DOCTYPE/, 'xxe.ovf');
      assert.ok(!err.message.includes(content), 'the message does not carry the entity file content');
      assert.equal(err.element, '!DOCTYPE');
      assert.match(err.message, /^xxe\.ovf:2: /, 'the message gives the DOCTYPE line');
      assert.equal(statSync(secret).atimeMs, old.getTime(), 'the entity file was not opened for reading');
    });
  });

  it('refuses a DOCTYPE with only internal entities (billion laughs)', () => {
    const lol = `<?xml version="1.0"?>\n<!DOCTYPE Envelope [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n<Envelope xmlns="${OVF1}"><Info>&b;</Info></Envelope>\n`;
    assertRefused(lol, /DOCTYPE/);
  });

  it('refuses an undefined entity reference in text', () => {
    const err = assertRefused(envelope('<VirtualSystem ovf:id="x"><Info>Tom &foo; Jerry</Info><VirtualHardwareSection><Info>x</Info></VirtualHardwareSection></VirtualSystem>'), /&foo;/);
    assert.match(err.message, /not defined/);
  });

  it('refuses an undefined entity reference in an attribute', () => {
    assertRefused(envelope('<VirtualSystem ovf:id="&foo;"><Info>x</Info><VirtualHardwareSection><Info>x</Info></VirtualHardwareSection></VirtualSystem>'), /&foo;/);
  });

  it('refuses a stray ampersand', () => {
    assertRefused(envelope('<VirtualSystem ovf:id="x"><Info>Tom & Jerry</Info><VirtualHardwareSection><Info>x</Info></VirtualHardwareSection></VirtualSystem>'), /&|not well-formed/);
  });

  it('decodes the predefined entities and character references', () => {
    const env = parseEnvelope(
      Buffer.from(envelope('<VirtualSystem ovf:id="a&amp;b"><Info>x</Info><Name>&lt;&#65;&#x42;&gt; &quot;&apos; &amp;lt;</Name><VirtualHardwareSection><Info>x</Info></VirtualHardwareSection></VirtualSystem>')),
      'entities.ovf',
    );
    assert.equal(env.virtualSystems[0]!.id, 'a&b');
    assert.equal(env.virtualSystems[0]!.name, `<AB> "' &lt;`);
  });

  it('takes CDATA sections literally', () => {
    const env = parseEnvelope(
      Buffer.from(envelope('<VirtualSystem ovf:id="x"><Info><![CDATA[Tom & Jerry]]></Info><Name><![CDATA[&amp;]]></Name><VirtualHardwareSection><Info>x</Info></VirtualHardwareSection></VirtualSystem>')),
      'cdata.ovf',
    );
    assert.equal(env.virtualSystems[0]!.info, 'Tom & Jerry');
    assert.equal(env.virtualSystems[0]!.name, '&amp;');
  });

  it('refuses characters that XML 1.0 forbids, raw or as character references', () => {
    const annotated = (text: string) => envelope(`<VirtualSystem ovf:id="x"><Info>x</Info><AnnotationSection><Info>a</Info><Annotation>${text}</Annotation></AnnotationSection><VirtualHardwareSection><Info>x</Info></VirtualHardwareSection></VirtualSystem>`);
    for (const text of ['&#7;', '&#xD800;', '&#xFFFE;', 'raw\u0007bell', 'raw\u0000nul']) {
      assertRefused(annotated(text), /character|not well-formed/);
    }
  });

  it('gives file:line:col for XML that is not well-formed', () => {
    const text = `<?xml version="1.0"?>\n<Envelope xmlns="${OVF1}">\n  <References>\n    <File ovf:id="a" ovf:href="a">\n  </References>\n</Envelope>\n`;
    assertRefused(text.replace('xmlns=', 'xmlns:ovf="' + OVF1 + '" xmlns='), /^broken\.ovf:5:3: not well-formed XML/, 'broken.ovf');
  });

  it('gives file:line:col for an unterminated attribute value', () => {
    assertRefused(`<Envelope xmlns="${OVF1}">\n<References a="1></References></Envelope>`, /^quote\.ovf:\d+:\d+: /, 'quote.ovf');
  });

  it('refuses the unknown envelope namespace /envelope/3', () => {
    const err = assertRefused(envelope('<VirtualSystem ovf:id="x"/>', 'http://schemas.dmtf.org/ovf/envelope/3'), /unknown OVF envelope namespace "http:\/\/schemas\.dmtf\.org\/ovf\/envelope\/3"/);
    assert.equal(err.element, 'Envelope/@xmlns');
  });

  it('refuses an Envelope in no namespace and a root that is no Envelope', () => {
    assertRefused('<Envelope><References/></Envelope>', /\(none\)/);
    assertRefused(`<Domain xmlns="${OVF1}"/>`, /not an OVF <Envelope>/);
  });

  it('refuses a Disk whose ovf:fileRef names no File', () => {
    const err = assertRefused(
      envelope('<References><File ovf:id="file1" ovf:href="a.vmdk"/></References><DiskSection><Info>d</Info><Disk ovf:diskId="d1" ovf:capacity="1" ovf:fileRef="file9"/></DiskSection>'),
      /Disk "d1" refers to ovf:fileRef="file9"/,
    );
    assert.match(err.element ?? '', /fileRef/);
  });

  it('refuses a Disk whose ovf:parentRef names no Disk', () => {
    assertRefused(envelope('<DiskSection><Info>d</Info><Disk ovf:diskId="d1" ovf:capacity="1" ovf:parentRef="d0"/></DiskSection>'), /parentRef="d0"/);
  });

  it('refuses a File without ovf:href and a Disk without ovf:diskId', () => {
    assertRefused(envelope('<References><File ovf:id="file1"/></References>'), /References\/File\[1\] needs ovf:id and ovf:href/);
    assertRefused(envelope('<DiskSection><Info>d</Info><Disk ovf:capacity="1"/></DiskSection>'), /has no ovf:diskId/);
  });

  it('accepts a Disk without ovf:capacity (Ganeti) with a warning and no capacity', () => {
    const env = parseEnvelope(Buffer.from(envelope('<DiskSection><Info>d</Info><Disk ovf:diskId="d1"/></DiskSection>')), 'ganeti.ovf');
    assert.deepEqual(env.disks, [{ diskId: 'd1' }]);
    assert.ok(env.warnings.some((w) => /\(d1\) has no ovf:capacity/.test(w)), env.warnings.join('\n'));
  });

  it('refuses a Disk capacity holding a ${...} placeholder, naming the attribute', () => {
    const err = assertRefused(envelope('<DiskSection><Info>d</Info><Disk ovf:diskId="d1" ovf:capacity="${SIZE}"/></DiskSection>'), /\$\{SIZE\}/);
    assert.equal(err.element, 'DiskSection/Disk[1]/@ovf:capacity');
  });

  it('refuses unknown capacity allocation units, naming the attribute', () => {
    const err = assertRefused(envelope('<DiskSection><Info>d</Info><Disk ovf:diskId="d1" ovf:capacity="1" ovf:capacityAllocationUnits="hertz * 10^6"/></DiskSection>'), /hertz/);
    assert.equal(err.element, 'DiskSection/Disk[1]/@ovf:capacityAllocationUnits');
  });

  it('refuses a VirtualSystem without VirtualHardwareSection and an Item whose ResourceType is no number', () => {
    assertRefused(envelope('<VirtualSystem ovf:id="x"><Info>x</Info></VirtualSystem>'), /VirtualSystem "x" has no VirtualHardwareSection/);
    assertRefused(
      envelope('<VirtualSystem ovf:id="x" xmlns:rasd="r"><Info>x</Info><VirtualHardwareSection><Info>x</Info><Item><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>cpu</rasd:ResourceType></Item></VirtualHardwareSection></VirtualSystem>'),
      /ResourceType "cpu" is not a number/,
    );
  });

  it('refuses an undeclared namespace prefix', () => {
    assertRefused(envelope('<vmw:Thing/>'), /undeclared namespace prefix/);
  });

  it('refuses elements nested 200 levels deep', () => {
    const deep = '<Annotation>'.repeat(200) + 'x' + '</Annotation>'.repeat(200);
    assertRefused(envelope(`<AnnotationSection><Info>x</Info>${deep}</AnnotationSection>`), /nest/i);
  });

  it('accepts elements nested 30 levels deep', () => {
    const deep = '<Annotation>'.repeat(30) + 'x' + '</Annotation>'.repeat(30);
    assert.equal(parseEnvelope(Buffer.from(envelope(`<AnnotationSection><Info>x</Info>${deep}</AnnotationSection>`)), 'deep.ovf').version, '1');
  });
});
