// The devices a profile adds that no Item describes (defaults.json addedDevices): rows an overlay can change, valid libvirt XML.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MappingError } from '../../src/errors.js';
import { parseXml } from '../../src/xml/parse.js';
import { assertValidDomain, attrs, children, only, planToXml } from '../domain/helpers.js';
import { cpuAndMemory, ovfDocument, withTempDir } from '../ovf/helpers.js';

const OVF = ovfDocument({ systems: [{ id: 'vm', items: cpuAndMemory() }] });

/** Plans OVF with `profile` (and an overlay holding `overlay` as defaults.json), returning the domain's <devices>. */
async function devicesOf(profile: string, overlay?: object) {
  return withTempDir(async (dir) => {
    const ovf = join(dir, 'vm.ovf');
    writeFileSync(ovf, OVF);
    let mappingsDir: string | undefined;
    if (overlay) {
      writeFileSync(join(dir, 'defaults.json'), JSON.stringify(overlay));
      mappingsDir = dir;
    }
    const { xml } = await planToXml(ovf, { profile, ...(mappingsDir ? { mappingsDir } : {}) });
    await assertValidDomain(xml, `${profile} domain`);
    return only(parseXml(xml, 'domain.xml'), 'devices');
  });
}

describe('addedDevices', () => {
  it('gives a faithful domain a USB tablet for VNC pointer sync, and nothing that needs virtio drivers', async () => {
    const devices = await devicesOf('faithful');
    assert.deepEqual(children(devices, 'input').map(attrs), [{ type: 'tablet', bus: 'usb' }]);
    assert.deepEqual(children(devices, 'channel'), []);
    assert.deepEqual(children(devices, 'rng'), []);
  });

  it('gives a virtio domain what virt-install adds: the tablet, the guest agent channel, virtio-rng and a virtio balloon', async () => {
    const devices = await devicesOf('virtio');
    assert.deepEqual(children(devices, 'input').map(attrs), [{ type: 'tablet', bus: 'usb' }]);
    const channel = only(devices, 'channel');
    assert.deepEqual(attrs(channel), { type: 'unix' });
    assert.deepEqual(attrs(only(channel, 'target')), { type: 'virtio', name: 'org.qemu.guest_agent.0' });
    const rng = only(devices, 'rng');
    assert.deepEqual(attrs(rng), { model: 'virtio' });
    assert.equal(only(rng, 'backend').text, '/dev/urandom');
    assert.deepEqual(attrs(only(devices, 'memballoon')), { model: 'virtio' });
  });

  it('lets an overlay change a row by id and a profile its list', async () => {
    const rowChanged = await devicesOf('virtio', { addedDevices: { 'virtio-rng': { device: 'rng', model: 'virtio', backendModel: 'builtin', virtInstall: 'lab: no host entropy device' } } });
    assert.deepEqual(attrs(only(only(rowChanged, 'rng'), 'backend')), { model: 'builtin' });
    const none = await devicesOf('faithful', { profiles: { faithful: { tables: ['devices'], machine: 'q35', addedDevices: [] } } });
    assert.deepEqual(children(none, 'input'), []);
  });

  it('refuses a profile that names a row defaults.json does not define', async () => {
    await assert.rejects(
      devicesOf('faithful', { profiles: { faithful: { tables: ['devices'], machine: 'q35', addedDevices: ['watchdog'] } } }),
      (e: unknown) => e instanceof MappingError && /profile "faithful" adds device "watchdog", which addedDevices does not define/.test(e.message),
    );
  });
});
