// parsePoolXml on pool XML as libvirt 9.0 returns it (virsh pool-dumpxml): rbd, iscsi-direct with CHAP, iscsi, dir.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePoolXml } from '../../src/storage/pool-xml.js';

test('an rbd pool: Ceph pool, monitors and a ceph secret', () => {
  const def = parsePoolXml(`<pool type='rbd'><name>ceph</name><source><host name='10.0.0.1' port='6789'/><host name='10.0.0.2'/><name>rbdpool</name>
    <auth type='ceph' username='libvirt'><secret uuid='2ec115d7-3a88-3ceb-bc12-0ac909a6fd87'/></auth></source></pool>`);
  assert.deepEqual(def, {
    type: 'rbd',
    sourceName: 'rbdpool',
    devices: [],
    hosts: [{ name: '10.0.0.1', port: 6789 }, { name: '10.0.0.2' }],
    auth: { username: 'libvirt', secretType: 'ceph', uuid: '2ec115d7-3a88-3ceb-bc12-0ac909a6fd87' },
  });
});

test("an iscsi-direct pool: portal, target IQN, initiator IQN, and <auth type='chap'> naming a secret of usage type iscsi", () => {
  const def = parsePoolXml(`<pool type='iscsi-direct'>
  <name>isd</name>
  <capacity unit='bytes'>67108352</capacity>
  <source>
    <host name='127.0.0.1' port='13260'/>
    <device path='iqn.2026-12.test.virt-ovf:t1'/>
    <initiator>
      <iqn name='iqn.2026-12.test.virt-ovf:initiator'/>
    </initiator>
    <auth type='chap' username='chapuser'>
      <secret usage='isd-chap'/>
    </auth>
  </source>
</pool>`);
  assert.deepEqual(def, {
    type: 'iscsi-direct',
    devices: ['iqn.2026-12.test.virt-ovf:t1'],
    hosts: [{ name: '127.0.0.1', port: 13260 }],
    auth: { username: 'chapuser', secretType: 'iscsi', usage: 'isd-chap' },
    initiator: 'iqn.2026-12.test.virt-ovf:initiator',
  });
});

test('an iscsi pool: device directory, target, no initiator or auth; a dir pool: only its path', () => {
  const iscsi = parsePoolXml(`<pool type='iscsi'><name>i</name><source><host name='san.example'/><device path='iqn.2013-06.example:disks'/></source><target><path>/dev/disk/by-path</path></target></pool>`);
  assert.deepEqual(iscsi, { type: 'iscsi', targetPath: '/dev/disk/by-path', devices: ['iqn.2013-06.example:disks'], hosts: [{ name: 'san.example' }] });
  const dir = parsePoolXml(`<pool type='dir'><name>default</name><source/><target><path>/var/lib/libvirt/images</path></target></pool>`);
  assert.deepEqual(dir, { type: 'dir', targetPath: '/var/lib/libvirt/images', devices: [], hosts: [] });
});

test('an <auth> without a secret, or an <initiator> without an <iqn name>, is left out', () => {
  const def = parsePoolXml(`<pool type='iscsi-direct'><name>x</name><source><host name='h'/><device path='iqn.t'/><initiator/><auth type='chap' username='u'/></source></pool>`);
  assert.equal(def.auth, undefined);
  assert.equal(def.initiator, undefined);
});
