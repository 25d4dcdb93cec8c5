// parseEnvelope on the shared corpus of real descriptors (../shared/corpus/ovf), when present.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { OvfParseError, PackageError } from '../../src/errors.js';
import { parseEnvelope } from '../../src/ovf/parse.js';
import { CORPUS_DIR } from './helpers.js';

describe('parseEnvelope: the shared corpus of real descriptors', () => {
  const present = existsSync(CORPUS_DIR);
  const files = present ? readdirSync(CORPUS_DIR).filter((f) => f.endsWith('.ovf')).sort() : [];

  it('parses every descriptor or refuses it with an OvfParseError or PackageError', (t) => {
    if (!present) {
      t.skip('corpus not present');
      return;
    }
    assert.ok(files.length > 0, 'the corpus holds .ovf files');
    let parsed = 0;
    for (const name of files) {
      try {
        parseEnvelope(readFileSync(join(CORPUS_DIR, name)), name);
        parsed += 1;
      } catch (err) {
        assert.ok(err instanceof PackageError, `${name}: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
        assert.ok(err.message.includes(name), `${name}: the message names the file: ${err.message}`);
      }
    }
    t.diagnostic(`${parsed} of ${files.length} corpus descriptors parse`);
  });

  const broken: [string, RegExp][] = [
    ['ganeti-wrong-xml.ovf', /^ganeti-wrong-xml\.ovf:\d+:\d+: not well-formed XML/],
    ['cot-invalid.ovf', /fileRef|parentRef|HostResource|References/],
    ['proxmox-xxe-entity.ovf', /DOCTYPE/],
    ['oraclevm-ol-template.ovf', /\$\{/],
    ['cot-ersatz-ovf3.ovf', /envelope\/3/],
  ];
  for (const [name, message] of broken) {
    it(`refuses the deliberately broken ${name}`, (t) => {
      if (!present) {
        t.skip('corpus not present');
        return;
      }
      if (!existsSync(join(CORPUS_DIR, name))) {
        t.skip(`${name} not in the corpus`);
        return;
      }
      assert.throws(
        () => parseEnvelope(readFileSync(join(CORPUS_DIR, name)), name),
        (err: unknown) => err instanceof OvfParseError && message.test(err.message),
      );
    });
  }

  for (const name of ['xenserver-sample-app.ovf', 'vmware-disktypes-utf8-bom.ovf', 'vbox-ubuntu-ovf20.ovf', 'cot-ovf09-eula.ovf', 'vmware-ovftool-win10-prefixed.ovf']) {
    it(`parses the awkward but valid ${name}`, (t) => {
      if (!present || !existsSync(join(CORPUS_DIR, name))) {
        t.skip('corpus not present');
        return;
      }
      const env = parseEnvelope(readFileSync(join(CORPUS_DIR, name)), name);
      assert.ok(env.virtualSystems.length > 0);
    });
  }

  it('reads the same envelope from the BOM copy of the sun disk-types vApp as from the original', (t) => {
    const a = join(CORPUS_DIR, 'vmware-vcenter-sun-disktypes-vapp.ovf');
    const b = join(CORPUS_DIR, 'vmware-disktypes-utf8-bom.ovf');
    if (!existsSync(a) || !existsSync(b)) {
      t.skip('corpus not present');
      return;
    }
    assert.deepEqual(parseEnvelope(readFileSync(b), 'x.ovf'), parseEnvelope(readFileSync(a), 'x.ovf'));
  });
});
