// planImport's warnings for options that would go nowhere: --prop without the iso transport.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { planImport } from '../../src/import/plan.js';
import { cpuAndMemory, ovfDocument, withTempDir } from '../ovf/helpers.js';

const PRODUCT = `    <ProductSection>
      <Info>Product</Info>
      <Property ovf:key="hostname" ovf:type="string" ovf:value="app" ovf:userConfigurable="true"/>
    </ProductSection>
`;

async function plan(transport: boolean, opts: { ovfEnv?: boolean; properties?: Record<string, string> }) {
  return withTempDir(async (dir) => {
    let doc = ovfDocument({ systems: [{ id: 'vm', items: cpuAndMemory() }] }).replace('    <VirtualHardwareSection>', `${PRODUCT}    <VirtualHardwareSection${transport ? ' ovf:transport="iso"' : ''}>`);
    if (!doc.includes('ovf:key="hostname"')) throw new Error('fixture edit did not apply');
    doc = doc.replace('<Envelope ', '<Envelope ');
    const ovf = join(dir, 'vm.ovf');
    await writeFile(ovf, doc);
    return planImport({ source: ovf, descriptorOnly: true, ...opts });
  });
}

describe('--prop without a transport', () => {
  it('warns and names --ovf-env when the package has no iso transport', async () => {
    const p = await plan(false, { properties: { hostname: 'web1' } });
    assert.ok(p.warnings.some((w) => /--prop hostname: the package asks for no iso transport.*add --ovf-env/.test(w)), p.warnings.join('\n'));
  });

  it('is silent with the iso transport, with --ovf-env, or without --prop', async () => {
    for (const [transport, opts] of [[true, { properties: { hostname: 'web1' } }], [false, { ovfEnv: true, properties: { hostname: 'web1' } }], [false, {}]] as const) {
      const p = await plan(transport, opts);
      assert.ok(!p.warnings.some((w) => /--prop/.test(w)), p.warnings.join('\n'));
    }
  });
});
