// mapVirtualSystem: Items without a mapping, processors and memory.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OvfParseError, PackageError, UnsupportedItemError } from '../../src/errors.js';
import { mapVirtualSystem } from '../../src/mapping/apply.js';
import { parseEnvelope } from '../../src/ovf/parse.js';
import { cpuAndMemory, ovfDocument } from '../ovf/helpers.js';
import { mapItems, item, mappings } from './apply-helpers.js';

describe('mapVirtualSystem: items without a mapping', () => {
  const odd = (attrs?: string) => item({ InstanceID: '9', ResourceType: '32769', ResourceSubType: 'acme.widget', ElementName: 'Widget' }, attrs);

  it('throws UnsupportedItemError for an unknown required item, with its InstanceID and ResourceType', () => {
    assert.throws(
      () => mapItems([...cpuAndMemory(), odd('ovf:required="true"')]),
      (err: unknown) => {
        assert.ok(err instanceof UnsupportedItemError);
        assert.ok(err instanceof PackageError);
        assert.equal(err.instanceId, '9');
        assert.equal(err.resourceType, 32769);
        assert.equal(err.resourceSubType, 'acme.widget');
        assert.equal(err.file, 'test.ovf');
        assert.equal(err.exitCode, 3);
        assert.match(err.message, /InstanceID 9 \("Widget"\).*ResourceType 32769.*marked ovf:required; it can be left out$/);
        assert.equal(err.option, 'lax', 'the remedy is the lax option (the CLI adds --lax)');
        return true;
      },
    );
  });

  it('treats an item without ovf:required as required', () => {
    assert.throws(() => mapItems([...cpuAndMemory(), odd()]), UnsupportedItemError);
  });

  it('leaves an unknown required item out with a warning under --lax', () => {
    const m = mapItems([...cpuAndMemory(), odd('ovf:required="true"')], { lax: true });
    assert.ok(m.warnings.some((w) => /InstanceID 9.*ResourceType 32769.*has no mapping; left out/.test(w)), m.warnings.join('\n'));
  });

  it('leaves an unknown item marked ovf:required="false" out with a warning', () => {
    const m = mapItems([...cpuAndMemory(), odd('ovf:required="false"')]);
    assert.ok(m.warnings.some((w) => /InstanceID 9.*has no mapping; left out/.test(w)));
  });

  it('warns about ignored rows with their reason (floppy, serial, VMCI)', () => {
    const m = mapItems([
      ...cpuAndMemory(),
      item({ InstanceID: '3', ResourceType: '14' }),
      item({ InstanceID: '4', ResourceType: '21', ResourceSubType: 'vmware.serialport.device' }),
      item({ InstanceID: '5', ResourceType: '1', ResourceSubType: 'vmware.vmci' }),
    ]);
    assert.equal(m.warnings.filter((w) => /not carried over/.test(w)).length, 3);
    assert.deepEqual(m.disks, []);
  });
});

describe('mapVirtualSystem: processors and memory', () => {
  it('reads memory in "byte * 2^30"', () => {
    assert.equal(mapItems(cpuAndMemory(1, '4', 'byte * 2^30')).memoryBytes, 4 * 2 ** 30);
  });

  it('reads memory in VirtualBox "MegaBytes" and in "byte * 10^6"', () => {
    assert.equal(mapItems(cpuAndMemory(1, '512', 'MegaBytes')).memoryBytes, 512 * 2 ** 20);
    assert.equal(mapItems(cpuAndMemory(1, '1000', 'byte * 10^6')).memoryBytes, 1_000_000_000);
  });

  it('assumes MiB, with a warning, when memory has no AllocationUnits', () => {
    const m = mapItems([cpuAndMemory()[0]!, item({ InstanceID: '2', ResourceType: '4', VirtualQuantity: '256' })]);
    assert.equal(m.memoryBytes, 256 * 2 ** 20);
    assert.ok(m.warnings.some((w) => /no AllocationUnits/.test(w)));
  });

  it('refuses unreadable memory units and quantities', () => {
    assert.throws(() => mapItems(cpuAndMemory(1, '256', 'hertz * 10^6')), (err: unknown) => err instanceof OvfParseError && /hertz/.test(err.message) && /AllocationUnits/.test(err.element ?? ''));
    assert.throws(() => mapItems(cpuAndMemory(1, '${MEM}')), (err: unknown) => err instanceof OvfParseError && /VirtualQuantity/.test(err.message));
  });

  it('uses the default memory size, with a warning, when there is no memory Item', () => {
    const m = mapItems([cpuAndMemory()[0]!]);
    assert.equal(m.memoryBytes, mappings.defaults.memoryMiBWhenAbsent * 2 ** 20);
    assert.ok(m.warnings.some((w) => /no memory Item/.test(w)), m.warnings.join('\n'));
  });

  it('refuses a processor count that is not a positive integer', () => {
    assert.throws(() => mapItems(cpuAndMemory(0)), (err: unknown) => err instanceof OvfParseError && /not a positive integer/.test(err.message));
  });

  it('derives the topology from vmw:CoresPerSocket', () => {
    const cpu = item({ InstanceID: '1', ResourceType: '3', VirtualQuantity: '4' }, undefined, '        <vmw:CoresPerSocket ovf:required="false">2</vmw:CoresPerSocket>\n');
    const m = mapItems([cpu, cpuAndMemory()[1]!]);
    assert.equal(m.vcpus, 4);
    assert.deepEqual(m.topology, { sockets: 2, cores: 2, threads: 1 });
  });

  it('gives no topology when the CPU count is not a multiple of CoresPerSocket', () => {
    const cpu = item({ InstanceID: '1', ResourceType: '3', VirtualQuantity: '3' }, undefined, '        <vmw:CoresPerSocket ovf:required="false">2</vmw:CoresPerSocket>\n');
    const m = mapItems([cpu, cpuAndMemory()[1]!]);
    assert.equal(m.vcpus, 3);
    assert.equal(m.topology, undefined);
  });

  it('uses the ovf:bound="normal" item and ignores min and max', () => {
    const m = mapItems([
      item({ InstanceID: '1', ResourceType: '3', VirtualQuantity: '1' }, 'ovf:bound="min"'),
      item({ InstanceID: '1', ResourceType: '3', VirtualQuantity: '2' }, 'ovf:bound="normal"'),
      item({ InstanceID: '1', ResourceType: '3', VirtualQuantity: '8' }, 'ovf:bound="max"'),
      cpuAndMemory()[1]!,
    ]);
    assert.equal(m.vcpus, 2);
  });

  it('uses the default deployment option for items marked ovf:configuration', () => {
    const text = ovfDocument({
      systems: [
        {
          id: 'vm',
          items: [
            cpuAndMemory()[0]!,
            item({ InstanceID: '2', ResourceType: '4', VirtualQuantity: '2', AllocationUnits: 'byte * 2^30' }, 'ovf:configuration="small"'),
            item({ InstanceID: '2', ResourceType: '4', VirtualQuantity: '8', AllocationUnits: 'byte * 2^30' }, 'ovf:configuration="large"'),
          ],
        },
      ],
    }).replace(
      '  <NetworkSection>',
      '  <DeploymentOptionSection>\n    <Info>Sizes</Info>\n    <Configuration ovf:id="small"><Label>Small</Label><Description>S</Description></Configuration>\n    <Configuration ovf:id="large" ovf:default="true"><Label>Large</Label><Description>L</Description></Configuration>\n  </DeploymentOptionSection>\n  <NetworkSection>',
    );
    const env = parseEnvelope(Buffer.from(text), 'options.ovf');
    const m = mapVirtualSystem(env, env.virtualSystems[0]!, mappings, { profile: 'faithful' });
    assert.equal(m.memoryBytes, 8 * 2 ** 30);
  });
});
