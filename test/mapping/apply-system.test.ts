// mapVirtualSystem: video, sound, USB, TPM, firmware, the guest OS, profiles and HostResource forms.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { OvfParseError, UsageError } from '../../src/errors.js';
import { mapVirtualSystem } from '../../src/mapping/apply.js';
import { parseEnvelope } from '../../src/ovf/parse.js';
import { cpuAndMemory, DATA_DIR, ovfDocument, type ItemSpec } from '../ovf/helpers.js';
import { mapItems, item, pvscsi, diskOn, mappings } from './apply-helpers.js';

describe('mapVirtualSystem: other devices and the guest OS', () => {
  it('maps video by VirtualSystemType, sound, USB and the vTPM', () => {
    const extra = [
      item({ InstanceID: '3', ResourceType: '24' }),
      item({ InstanceID: '4', ResourceType: '1', ResourceSubType: 'vmware.soundcard.hdaudio' }),
      item({ InstanceID: '5', ResourceType: '23', ResourceSubType: 'vmware.usb.xhci' }),
      item({ InstanceID: '6', ResourceType: '1', ResourceSubType: 'vmware.vtpm' }),
    ];
    const vmx = mapItems([...cpuAndMemory(), ...extra]);
    assert.deepEqual(vmx.video, { model: 'vmvga' });
    assert.deepEqual(vmx.sounds, [{ model: 'ich9' }]);
    assert.deepEqual(vmx.usb, [{ model: 'qemu-xhci' }]);
    assert.deepEqual(vmx.tpm, { model: 'tpm-crb', version: '2.0' });
    assert.deepEqual(mapItems([...cpuAndMemory(), ...extra], {}, { systemType: 'virtualbox-2.2' }).video, { model: 'vga' });
    assert.deepEqual(mapItems([...cpuAndMemory(), ...extra], { profile: 'virtio' }).video, { model: 'virtio' });
  });

  it('keeps an oVirt video item (ResourceType 20, Type video) a video device under the virtio profile', () => {
    const video: ItemSpec = { rasd: { InstanceID: '5', ResourceType: '20' }, extraXml: '        <Type>video</Type><Device>qxl</Device>\n' };
    assert.deepEqual(mapItems([...cpuAndMemory(), video], {}, { systemType: 'ENGINE 4.4.0.0' }).video, { model: 'qxl' });
    const virtio = mapItems([...cpuAndMemory(), video], { profile: 'virtio' }, { systemType: 'ENGINE 4.4.0.0' });
    assert.ok(virtio.video !== undefined, 'the oVirt video item yields a video device');
  });

  it('imports the oVirt fixture without --lax: graphics framebuffer ignored, NIC subtype 3 is virtio, MAC from rasd:MACAddress', () => {
    const env = parseEnvelope(readFileSync(join(DATA_DIR, 'ovirt-style.ovf')), 'ovirt-style.ovf');
    const m = mapVirtualSystem(env, env.virtualSystems[0]!, mappings, { profile: 'faithful' });
    assert.equal(m.nics[0]!.model, 'virtio');
    assert.equal(m.nics[0]!.mac, '56:6f:00:00:00:01');
    assert.deepEqual(m.topology, { sockets: 1, cores: 2, threads: 1 });
  });

  it('looks the guest up by vmw:osType first, then by the CIM OS id', () => {
    const a = mapItems(cpuAndMemory(), {}, { osAttrs: 'ovf:id="74" vmw:osType="ubuntu64Guest"' });
    assert.equal(a.osinfo, 'http://ubuntu.com/ubuntu/22.04');
    assert.equal(a.osFamily, 'linux');
    const b = mapItems(cpuAndMemory(), {}, { osAttrs: 'ovf:id="74"' });
    assert.equal(b.osinfo, 'http://microsoft.com/win/7');
    assert.equal(b.osFamily, 'windows');
    const c = mapItems(cpuAndMemory(), {}, { osAttrs: 'ovf:id="9999" vmw:osType="plan9Guest"' });
    assert.equal(c.osinfo, undefined);
    assert.equal(c.osFamily, undefined);
  });

  it('refuses an unknown profile with a UsageError naming the known ones', () => {
    assert.throws(() => mapItems(cpuAndMemory(), { profile: 'fastest' }), (err: unknown) => err instanceof UsageError && /faithful, virtio/.test(err.message));
  });

  it('refuses a disk whose HostResource names no Disk', () => {
    assert.throws(() => mapItems([...cpuAndMemory(), pvscsi, diskOn('3', '0', '4', 'ovf:/disk/nope')]), (err: unknown) => err instanceof OvfParseError && /names no Disk/.test(err.message));
  });

  it('leaves a CD-ROM whose HostResource points outside the package empty, with a warning', () => {
    const m = mapItems([...cpuAndMemory(), item({ InstanceID: '3', ResourceType: '15', HostResource: 'http://example.com/x.iso' })]);
    assert.equal(m.disks[0]!.file, undefined);
    assert.ok(m.warnings.some((w) => /points outside the package/.test(w)));
  });

  it('resolves an oVirt disk whose HostResource is the imageGroup/imageId file reference', () => {
    const text = ovfDocument({
      files: [{ id: 'image-1', href: 'group-1/image-1' }],
      disks: [{ id: 'image-1', capacity: '1', units: 'byte * 2^30' }],
      systems: [{ id: 'vm', systemType: 'ENGINE 4.4.0.0', items: [...cpuAndMemory(), item({ InstanceID: 'image-1', ResourceType: '17', HostResource: 'group-1/image-1' })] }],
    });
    const env = parseEnvelope(Buffer.from(text), 'ovirt.ovf');
    const m = mapVirtualSystem(env, env.virtualSystems[0]!, mappings, { profile: 'faithful' });
    assert.equal(m.disks[0]!.ovfDisk?.diskId, 'image-1');
  });

  it('takes EFI firmware from the vbox:Machine/Hardware/Firmware element VirtualBox writes', () => {
    const base = readFileSync(join(DATA_DIR, 'vbox-ovf20.ovf'), 'utf8');
    for (const [firmware, expected] of [['EFI', 'efi'], ['EFI64', 'efi'], ['BIOS', 'bios']] as const) {
      const text = base.replace('</vbox:Machine>', `<Hardware><Firmware type="${firmware}"/></Hardware></vbox:Machine>`);
      assert.ok(text.includes(`Firmware type="${firmware}"`));
      const env = parseEnvelope(Buffer.from(text), 'vbox-efi.ovf');
      assert.equal(mapVirtualSystem(env, env.virtualSystems[0]!, mappings, { profile: 'faithful' }).firmware, expected);
    }
  });
});
