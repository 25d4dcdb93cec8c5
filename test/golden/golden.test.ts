// Golden pairs (test/data/golden, see cases.ts): each import descriptor gives exactly its stored
// domain XML, each export domain exactly its stored OVF descriptor. UPDATE_GOLDEN=1 (or
// `npm run golden:update`) rewrites them instead; review the change with git diff.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { actualOutput, listCases, storedOutput, updating, writeGolden } from './cases.js';
import { unifiedDiff } from './diff.js';

const cases = listCases();

describe('golden pairs', { concurrency: 4 }, () => {
  it('cover at least 20 cases, both directions', () => {
    assert.ok(cases.length >= 20, `${cases.length} cases`);
    assert.ok(cases.some((c) => c.kind === 'import') && cases.some((c) => c.kind === 'export'));
  });

  for (const c of cases) {
    it(`${c.kind} ${c.name}${c.args.length > 0 ? ` (${c.args.join(' ')})` : ''} gives ${c.golden}`, async (t) => {
      const actual = await actualOutput(c);
      if (updating()) {
        if (await writeGolden(c, actual)) t.diagnostic(`rewrote ${c.kind}/${c.golden}`);
        return;
      }
      const expected = storedOutput(c);
      assert.ok(expected !== undefined, `${c.kind}/${c.golden} is missing: run npm run golden:update and review it`);
      if (actual !== expected) {
        assert.fail(`${c.kind}/${c.golden} differs from what the code now produces (if the change is intended: npm run golden:update, then review git diff):\n${unifiedDiff(expected, actual, { labels: [`${c.kind}/${c.golden}`, 'actual'] })}`);
      }
    });
  }
});

describe('import goldens are valid libvirt domain XML', { concurrency: 4 }, () => {
  const validator = spawnSync('virt-xml-validate', ['--help'], { stdio: 'ignore' }).error === undefined;
  for (const c of cases.filter((k) => k.kind === 'import')) {
    it(`${c.golden} passes virt-xml-validate`, { skip: validator ? false : 'virt-xml-validate is not installed (Debian: libvirt-clients)' }, () => {
      const r = spawnSync('virt-xml-validate', [join(c.dir, c.golden), 'domain'], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${c.golden}: ${r.error?.message ?? (r.signal ? `killed by ${r.signal}` : r.stderr)}`);
    });
  }
});
