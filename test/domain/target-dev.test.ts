// <target dev> naming from domain.json targetDev: prefixes by bus, indexes of names, buses of names.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { busFromDev, devIndex, devName, devPrefix } from '../../src/domain/target-dev.js';
import { rules } from './helpers.js';

const t = rules.targetDev;

describe('target dev names', () => {
  it('gives each bus its prefix and refuses a bus the table does not name', () => {
    assert.deepEqual(['ide', 'scsi', 'sata', 'usb', 'virtio'].map((b) => devPrefix(b, t)), ['hd', 'sd', 'sd', 'sd', 'vd']);
    assert.throws(() => devPrefix('nvme', t), RangeError);
  });

  it('names devices as the kernel does and reads the index back', () => {
    const cases: [string, number, string][] = [['sd', 0, 'sda'], ['sd', 25, 'sdz'], ['sd', 26, 'sdaa'], ['sd', 701, 'sdzz'], ['sd', 702, 'sdaaa'], ['hd', 2, 'hdc'], ['vd', 1, 'vdb'], ['xvd', 3, 'xvdd']];
    for (const [prefix, n, name] of cases) {
      assert.equal(devName(prefix, n), name);
      assert.equal(devIndex(name, t), n, name);
    }
  });

  it('reads the bus libvirt implies from a name without bus', () => {
    assert.deepEqual(['hdc', 'vda', 'xvda', 'ubb', 'fda', 'sdb', 'weird'].map((d) => busFromDev(d, t)), ['ide', 'virtio', 'xen', 'usb', 'fdc', 'scsi', 'scsi']);
  });

  it('follows the table it is given', () => {
    const custom = { ...t, prefixByBus: { ...t.prefixByBus, nvme: 'nvme' }, busByPrefix: { ...t.busByPrefix, nvme: 'nvme' } };
    assert.equal(devName(devPrefix('nvme', custom), 1), 'nvmeb');
    assert.equal(busFromDev('nvmeb', custom), 'nvme');
    assert.equal(devIndex('nvmeb', custom), 1);
  });
});
