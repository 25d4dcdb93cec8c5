// Every descriptor of the shared corpus that maps becomes domain XML libvirt's schema accepts; the ones that cannot map are named with their reason.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseEnvelope } from '../../src/ovf/parse.js';
import { CORPUS_DIR, withTempDir } from '../ovf/helpers.js';
import { planToXml, validatorSkip, virtXmlValidate } from './helpers.js';

/** Corpus descriptors that are refused before any domain exists, and the refusal each must give. */
const REFUSED: Readonly<Record<string, RegExp>> = {
  'cot-ersatz-ovf3.ovf': /unknown OVF envelope namespace ".*envelope\/3"/,
  'cot-invalid.ovf': /Disk "flash2" refers to ovf:fileRef="flash2", which no References\/File declares/,
  'ganeti-wrong-xml.ovf': /not well-formed XML/,
  'oraclevm-ol-template.ovf': /"\$\{CAPACITY\}" refers to no ProductSection property with a value/,
  'proxmox-xxe-entity.ovf': /a DOCTYPE declaration is not allowed/,
};

/** Plans every VirtualSystem of every corpus descriptor under both profiles: the XML of each, or why it failed. */
async function planCorpus(): Promise<{ files: string[]; xml: Map<string, string>; refused: Map<string, string> }> {
  const files = readdirSync(CORPUS_DIR).filter((f) => f.endsWith('.ovf')).sort();
  const xml = new Map<string, string>();
  const refused = new Map<string, string>();
  for (const name of files) {
    const path = join(CORPUS_DIR, name);
    let systems: (string | undefined)[];
    try {
      systems = parseEnvelope(readFileSync(path), name).virtualSystems.map((v) => v.id);
    } catch (err) {
      refused.set(name, (err as Error).message);
      continue;
    }
    for (const profile of ['faithful', 'virtio']) {
      for (const vm of systems.length > 0 ? systems : [undefined]) {
        const label = `${name} (${profile}${vm !== undefined ? `, ${vm}` : ''})`;
        try {
          xml.set(label, (await planToXml(path, { profile, ...(vm !== undefined ? { vm } : {}) })).xml);
        } catch (err) {
          refused.set(label, (err as Error).message);
        }
      }
    }
  }
  return { files, xml, refused };
}

describe('domainToXml: the shared corpus', { skip: existsSync(CORPUS_DIR) ? false : `${CORPUS_DIR} is absent` }, () => {
  const corpus = existsSync(CORPUS_DIR) ? planCorpus() : Promise.resolve({ files: [], xml: new Map<string, string>(), refused: new Map<string, string>() });

  it('maps every descriptor but the ones named in REFUSED, each refused for its own reason', async () => {
    const { files, xml, refused } = await corpus;
    assert.deepEqual([...refused.keys()].sort(), Object.keys(REFUSED).sort(), [...refused].map(([k, v]) => `${k}: ${v}`).join('\n'));
    for (const [name, reason] of refused) assert.match(reason, REFUSED[name]!, name);
    const mapped = new Set([...xml.keys()].map((label) => label.slice(0, label.indexOf(' ('))));
    assert.equal(mapped.size + refused.size, files.length);
  });

  it('writes domain XML that virt-xml-validate accepts for every mapped descriptor, both profiles and every VirtualSystem', { skip: validatorSkip }, async (t) => {
    const { xml } = await corpus;
    const failures: string[] = [];
    await withTempDir(async (dir) => {
      for (const [label, text] of xml) {
        const file = join(dir, 'domain.xml');
        writeFileSync(file, text);
        const { code, output } = await virtXmlValidate(file);
        if (code !== 0) failures.push(`${label}: exit ${code}: ${output.split('\n').slice(0, 3).join(' | ')}`);
      }
    });
    t.diagnostic(`${xml.size} domain XMLs validated`);
    assert.deepEqual(failures, []);
    assert.ok(xml.size >= 2 * 40, `at least 80 domains (40 descriptors, two profiles); got ${xml.size}`);
  });
});
