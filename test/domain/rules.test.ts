// mappings/domain.json against its schema (src/mapping/schema/domain.ts): ResourceTypes by name, patterns checked, nothing unknown.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { domainRulesSchema } from '../../src/mapping/schema/domain.js';
import { ResourceType } from '../../src/ovf/model.js';
import { PROJECT_ROOT } from '../ovf/helpers.js';
import { rules } from './helpers.js';

const raw = JSON.parse(readFileSync(join(PROJECT_ROOT, 'mappings', 'domain.json'), 'utf8')) as Record<string, Record<string, unknown>>;

describe('domain.json rules', () => {
  it('are loaded with the OVF 2.0 elements as ResourceType numbers', () => {
    assert.deepEqual(rules.ovf.ovf2Elements, {
      StorageItem: [ResourceType.CdDrive, ResourceType.DvdDrive, ResourceType.DiskDrive],
      EthernetPortItem: [ResourceType.EthernetAdapter],
    });
  });

  it('refuses a ResourceType name ovf/model.ts does not define', () => {
    const bad = { ...raw, ovf: { ovf2Elements: { StorageItem: ['Harddisk'], EthernetPortItem: [] } } };
    const result = domainRulesSchema.safeParse(bad);
    assert.equal(result.success, false);
    assert.deepEqual(result.error?.issues[0]?.path, ['ovf', 'ovf2Elements', 'StorageItem', 0]);
  });

  it('refuses an EFI loader pattern that is no regular expression, and unknown keys', () => {
    assert.equal(domainRulesSchema.safeParse({ ...raw, read: { ...raw['read'], efiLoaderPattern: 'ovmf(' } }).success, false);
    assert.equal(domainRulesSchema.safeParse({ ...raw, defaults: { ...raw['defaults'], balloon: 'virtio' } }).success, false);
  });
});
