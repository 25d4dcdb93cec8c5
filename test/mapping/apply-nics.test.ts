// mapVirtualSystem: NIC models, MACs and where NICs attach.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cpuAndMemory } from '../ovf/helpers.js';
import { item, mapItems } from './apply-helpers.js';

describe('mapVirtualSystem: NIC models, MACs and networks', () => {
  it('maps the subtype list "VMXNET3 virtio" to vmxnet3 under faithful and to virtio under virtio', () => {
    const nic = item({ InstanceID: '3', ResourceType: '10', ResourceSubType: 'VMXNET3 virtio' });
    assert.equal(mapItems([...cpuAndMemory(), nic]).nics[0]!.model, 'vmxnet3');
    assert.equal(mapItems([...cpuAndMemory(), nic], { profile: 'virtio' }).nics[0]!.model, 'virtio');
  });

  it('maps subtypes case-insensitively and a NIC without subtype to e1000', () => {
    const m = mapItems([
      ...cpuAndMemory(),
      item({ InstanceID: '3', ResourceType: '10', ResourceSubType: 'e1000E' }),
      item({ InstanceID: '4', ResourceType: '10', ResourceSubType: 'pcnet32' }),
      item({ InstanceID: '5', ResourceType: '10' }),
    ]);
    assert.deepEqual(m.nics.map((n) => n.model), ['e1000e', 'pcnet', 'e1000']);
  });

  it('takes the MAC from rasd:Address, lower-cased with colons', () => {
    const m = mapItems([
      ...cpuAndMemory(),
      item({ InstanceID: '3', ResourceType: '10', Address: '00-50-56-AB-CD-EF' }),
      item({ InstanceID: '4', ResourceType: '10', Address: '00:50:56:01:02:0A' }),
      item({ InstanceID: '5', ResourceType: '10', Address: '0' }),
    ]);
    assert.deepEqual(m.nics.map((n) => n.mac), ['00:50:56:ab:cd:ef', '00:50:56:01:02:0a', undefined]);
  });

  it('attaches NICs by --network, --bridge, or to the default network with defaulted=true', () => {
    const m = mapItems(
      [
        ...cpuAndMemory(),
        item({ InstanceID: '3', ResourceType: '10', Connection: 'LAN' }),
        item({ InstanceID: '4', ResourceType: '10', Connection: 'DMZ' }),
        item({ InstanceID: '5', ResourceType: '10', Connection: 'Other' }),
        item({ InstanceID: '6', ResourceType: '10' }),
      ],
      { networks: { LAN: 'lab' }, bridges: { DMZ: 'br0' } },
    );
    assert.deepEqual(
      m.nics.map((n) => ({ id: n.instanceId, source: n.source, defaulted: n.defaulted, ovfNetwork: n.ovfNetwork })),
      [
        { id: '3', source: { type: 'network', network: 'lab' }, defaulted: false, ovfNetwork: 'LAN' },
        { id: '4', source: { type: 'bridge', bridge: 'br0' }, defaulted: false, ovfNetwork: 'DMZ' },
        { id: '5', source: { type: 'network', network: 'default' }, defaulted: true, ovfNetwork: 'Other' },
        { id: '6', source: { type: 'network', network: 'default' }, defaulted: true, ovfNetwork: undefined },
      ],
    );
  });
});
