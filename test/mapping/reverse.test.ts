// mapDomainToOvf: libvirt devices to RASD Items through the mappings/ tables read backwards, and back through import.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { DomainDescription, DomainDisk } from '../../src/domain/model.js';
import { parseDomainXml } from '../../src/domain/parse.js';
import { MappingError, UsageError } from '../../src/errors.js';
import { mapVirtualSystem } from '../../src/mapping/apply.js';
import { loadMappings, type MappingRow } from '../../src/mapping/load.js';
import { mapDomainToOvf, type DiskFile, type DriveInput, type ReverseOptions } from '../../src/mapping/reverse.js';
import { parseEnvelope } from '../../src/ovf/parse.js';
import type { ItemInput } from '../../src/ovf/model.js';
import { writeEnvelope } from '../../src/ovf/write.js';
import { PROJECT_ROOT, withTempDir } from '../ovf/helpers.js';

const mappings = loadMappings();
const deviceRows = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'mappings', 'devices.json'), 'utf8')) as { rows: MappingRow[] }).rows;

/** An inactive domain definition around `devices`; `os` replaces the BIOS <os>. */
function domainXml(devices: string, opts: { os?: string; osinfo?: string; memory?: string; extra?: string } = {}): string {
  const osinfo = opts.osinfo ? `<metadata><libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0"><libosinfo:os id="${opts.osinfo}"/></libosinfo:libosinfo></metadata>` : '';
  return `<domain type='kvm'><name>guest</name>${osinfo}${opts.memory ?? "<memory unit='MiB'>1024</memory>"}<vcpu>2</vcpu>
  ${opts.os ?? "<os><type arch='x86_64' machine='pc-q35-8.2'>hvm</type></os>"}${opts.extra ?? ''}<devices>${devices}</devices></domain>`;
}

/** Every hard disk gets a VMDK; CD-ROMs with a source get their ISO. */
const file = (disk: DomainDisk, i: number): DiskFile | undefined =>
  disk.device === 'disk' ? { href: `guest-disk${i + 1}.vmdk`, format: 'vmdk', capacityBytes: 2 ** 30 } : disk.source.type === 'file' ? { href: `guest-cd${i + 1}.iso`, format: 'raw', capacityBytes: 0 } : undefined;

/** One drive record per domain disk, with the package file `image` gives it. */
const drivesOf = (domain: DomainDescription, image: typeof file = file): DriveInput[] =>
  domain.disks.map((disk, i) => {
    const f = image(disk, i);
    return f ? { disk, image: f } : { disk };
  });

function reverse(devices: string, opts: Parameters<typeof domainXml>[1] & Partial<ReverseOptions> = {}) {
  const domain = parseDomainXml(domainXml(devices, opts), mappings.domain);
  return mapDomainToOvf(domain, mappings, { ovfVersion: 1, drives: drivesOf(domain), ...opts });
}

/** Writes the result and imports it again under `profile`. */
function reimport(result: ReturnType<typeof reverse>, profile = 'faithful') {
  const env = parseEnvelope(Buffer.from(writeEnvelope(result.envelope, { version: 1, rules: mappings.domain.ovf })), 'guest.ovf');
  return mapVirtualSystem(env, env.virtualSystems[0]!, mappings, { profile });
}

const items = (r: ReturnType<typeof reverse>, type: number): ItemInput[] => r.envelope.virtualSystems[0]!.hardware.items.filter((i) => i.resourceType === type);
const sub = (r: ReturnType<typeof reverse>, type: number): (string | undefined)[] => items(r, type).map((i) => i.resourceSubType);

const disk = (dev: string, bus: string, address = '', device = 'disk'): string => `<disk type='file' device='${device}'><source file='/i/${dev}'/><target dev='${dev}' bus='${bus}'/>${address}</disk>`;
const drive = (controller: number, unit: number, target = 0, bus = 0): string => `<address type='drive' controller='${controller}' bus='${bus}' target='${target}' unit='${unit}'/>`;

describe('mapDomainToOvf: subtypes come from the tables', () => {
  it('writes SATA as vmware.sata.ahci, pvscsi as VirtualSCSI, SAS as lsilogicsas, LSI as lsilogic, virtio-scsi as virtio-scsi', () => {
    const r = reverse(
      [disk('sda', 'sata', drive(0, 0)), disk('sdb', 'scsi', drive(0, 0)), disk('sdc', 'scsi', drive(1, 0)), disk('sdd', 'scsi', drive(2, 0)), disk('sde', 'scsi', drive(3, 0))].join('') +
        "<controller type='sata' index='0'/><controller type='scsi' index='0' model='vmpvscsi'/><controller type='scsi' index='1' model='lsisas1068'/><controller type='scsi' index='2' model='lsilogic'/><controller type='scsi' index='3' model='virtio-scsi'/>",
    );
    assert.deepEqual(sub(r, 20), ['vmware.sata.ahci']);
    assert.deepEqual(sub(r, 6), ['VirtualSCSI', 'lsilogicsas', 'lsilogic', 'virtio-scsi']);
    assert.deepEqual(r.warnings, []);
    const back = reimport(r);
    assert.deepEqual(back.controllers, [{ type: 'sata', index: 0 }, { type: 'scsi', index: 0, model: 'vmpvscsi' }, { type: 'scsi', index: 1, model: 'lsisas1068' }, { type: 'scsi', index: 2, model: 'lsilogic' }, { type: 'scsi', index: 3, model: 'virtio-scsi' }]);
  });

  it('writes NIC models as E1000, E1000e, VmxNet3, PCNet32, rtl8139 and virtio-net (which VirtualBox also reads)', () => {
    const nic = (model: string, mac: string) => `<interface type='network'><mac address='${mac}'/><source network='default'/><model type='${model}'/></interface>`;
    const models = ['e1000', 'e1000e', 'vmxnet3', 'pcnet', 'rtl8139', 'virtio', 'virtio-transitional'];
    const r = reverse(models.map((m, i) => nic(m, `52:54:00:00:00:0${i}`)).join(''));
    assert.deepEqual(sub(r, 10), ['E1000', 'E1000e', 'VmxNet3', 'PCNet32', 'rtl8139', 'virtio-net', 'virtio-net']);
    assert.deepEqual(items(r, 10).map((i) => [i.connection, i.address, i.automaticAllocation]), models.map((_, i) => [['default'], `52:54:00:00:00:0${i}`, true]));
    assert.deepEqual(r.envelope.networks, [{ name: 'default', description: 'libvirt network default' }]);
    assert.deepEqual(reimport(r).nics.map((n) => [n.model, n.mac, n.ovfNetwork]), ['e1000', 'e1000e', 'vmxnet3', 'pcnet', 'rtl8139', 'virtio', 'virtio'].map((m, i) => [m, `52:54:00:00:00:0${i}`, 'default']));
  });

  it('writes video, sound, USB and the vTPM as optional Items that import maps back', () => {
    const r = reverse("<video><model type='qxl'/></video><sound model='ich9'/><sound model='ac97'/><controller type='usb' index='0' model='qemu-xhci'/><tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>");
    assert.deepEqual(sub(r, 24), ['qxl']);
    assert.deepEqual(sub(r, 1), ['vmware.soundcard.hdaudio', 'vmware.vtpm']);
    assert.deepEqual(sub(r, 35), ['ICH6']);
    assert.deepEqual(sub(r, 23), ['vmware.usb.xhci']);
    assert.ok([24, 1, 35, 23].flatMap((t) => items(r, t)).every((i) => i.required === false), 'optional devices are ovf:required="false"');
    const back = reimport(r);
    assert.deepEqual([back.video, back.sounds, back.usb, back.tpm], [{ model: 'qxl' }, [{ model: 'ich9' }, { model: 'ac97' }], [{ model: 'qemu-xhci' }], { model: 'tpm-crb', version: '2.0' }]);
  });

  it('uses export-only rows for devices import never produces (ich6 sound, nec-xhci, tpm-tis)', () => {
    const r = reverse("<sound model='ich6'/><controller type='usb' index='0' model='nec-xhci'/><tpm model='tpm-tis'><backend type='emulator' version='2.0'/></tpm>");
    assert.deepEqual([sub(r, 35), sub(r, 23), sub(r, 1)], [['HDA'], ['vmware.usb.xhci'], ['vmware.vtpm']]);
    assert.ok(r.rowsUsed.includes('devices:sound-hda-ich6') && r.rowsUsed.includes('devices:usb-nec-xhci') && r.rowsUsed.includes('devices:tpm-tis'));
  });

  it('writes one USB controller for an EHCI and its UHCI companions', () => {
    const r = reverse("<controller type='usb' index='0' model='ich9-ehci1'/><controller type='usb' index='0' model='ich9-uhci1'/><controller type='usb' index='0' model='ich9-uhci2'/><controller type='usb' index='1' model='none'/>");
    assert.deepEqual(sub(r, 23), ['vmware.usb.ehci']);
  });
});

describe('mapDomainToOvf: disks', () => {
  it('writes virtio-blk disks on an Other Storage Device of subtype virtio-blk that both profiles import as virtio', () => {
    const r = reverse(disk('vda', 'virtio') + disk('vdb', 'virtio') + disk('sda', 'sata', drive(0, 0), 'cdrom'));
    const [ctl] = items(r, 20).filter((i) => i.resourceSubType === 'virtio-blk');
    assert.ok(ctl);
    assert.deepEqual(items(r, 17).map((i) => [i.parent, i.addressOnParent, i.hostResource]), [[ctl.instanceId, '0', ['ovf:/disk/vmdisk1']], [ctl.instanceId, '1', ['ovf:/disk/vmdisk2']]]);
    assert.match(r.warnings.join('\n'), /virtio-blk.*VMware and VirtualBox refuse/);
    for (const profile of ['faithful', 'virtio']) assert.deepEqual(reimport(r, profile).disks.filter((d) => d.device === 'disk').map((d) => [d.bus, d.dev]), [['virtio', 'vda'], ['virtio', 'vdb']], profile);
    assert.deepEqual(reimport(r).disks.filter((d) => d.device === 'cdrom').map((d) => d.bus), ['sata']);
  });

  it('puts each IDE channel in its own controller Item, Address = channel, AddressOnParent = unit', () => {
    const r = reverse(disk('hda', 'ide', drive(0, 0)) + disk('hdc', 'ide', drive(0, 0, 0, 1), 'cdrom') + disk('hdd', 'ide', '', 'cdrom'), { os: "<os><type arch='x86_64' machine='pc'>hvm</type></os>" });
    const ide = items(r, 5);
    assert.deepEqual(ide.map((i) => i.address), ['0', '1']);
    assert.deepEqual([...items(r, 17), ...items(r, 15)].map((i) => [i.parent, i.addressOnParent]), [[ide[0]!.instanceId, '0'], [ide[1]!.instanceId, '0'], [ide[1]!.instanceId, '1']]);
    const back = reimport(r);
    assert.equal(back.machine, 'pc');
    assert.deepEqual(back.disks.map((d) => [d.bus, d.dev, d.address?.bus, d.address?.unit]), [['ide', 'hda', 0, 0], ['ide', 'hdc', 1, 0], ['ide', 'hdd', 1, 1]]);
  });

  it('takes AddressOnParent from the field the row names (target for pvscsi, unit for lsilogic and SATA) and moves a taken one', () => {
    const r = reverse(
      disk('sda', 'scsi', drive(0, 0, 3)) + disk('sdb', 'scsi', drive(0, 2)) + disk('sdc', 'scsi', drive(1, 4)) + disk('sdd', 'sata', drive(0, 5)) + disk('sde', 'sata', drive(0, 5)) + "<controller type='scsi' index='0' model='vmpvscsi'/><controller type='scsi' index='1' model='lsilogic'/>",
    );
    assert.deepEqual(items(r, 17).map((i) => i.addressOnParent), ['3', '2', '4', '5', '6']);
  });

  it('lists disk files and CD-ROM media in References in domain order, with DiskSection entries for disks only', () => {
    const r = reverse(disk('sda', 'sata', drive(0, 0)) + disk('sdb', 'sata', drive(0, 1), 'cdrom') + "<disk type='file' device='cdrom'><target dev='sdc' bus='sata'/></disk>" + disk('vda', 'virtio'));
    assert.deepEqual(r.envelope.references, [{ id: 'file1', href: 'guest-disk1.vmdk' }, { id: 'file2', href: 'guest-cd2.iso' }, { id: 'file3', href: 'guest-disk4.vmdk' }]);
    assert.deepEqual(r.files.map((f) => [f.disk.dev, f.file.id, f.diskId]), [['sda', 'file1', 'vmdisk1'], ['sdb', 'file2', undefined], ['vda', 'file3', 'vmdisk2']]);
    assert.deepEqual(r.envelope.disks.map((d) => [d.diskId, d.fileRef, d.capacityBytes, d.format]), [
      ['vmdisk1', 'file1', 2 ** 30, 'http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized'],
      ['vmdisk2', 'file3', 2 ** 30, 'http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized'],
    ]);
    assert.deepEqual(items(r, 15).map((i) => [i.hostResource, i.automaticAllocation]), [[['ovf:/file/file2'], true], [undefined, false]]);
    const back = reimport(r);
    assert.deepEqual(back.disks.map((d) => [d.device, d.file?.href]), [['disk', 'guest-disk1.vmdk'], ['cdrom', 'guest-cd2.iso'], ['cdrom', undefined], ['disk', 'guest-disk4.vmdk']]);
  });

  it('refuses a disk on a bus no row places unless lax, and leaves floppies and disks without image out with a warning', () => {
    const usb = disk('sdz', 'usb');
    assert.throws(() => reverse(usb), (err: unknown) => err instanceof MappingError && err.option === 'lax' && /disk sdz \(bus usb\).*leave it out/.test(err.message));
    const lax = reverse(usb + "<disk type='file' device='floppy'><target dev='fda'/></disk>", { lax: true });
    assert.deepEqual(lax.envelope.references, []);
    assert.match(lax.warnings.join('\n'), /disk sdz \(bus usb\): left out/);
    assert.match(lax.warnings.join('\n'), /floppy fda.*left out/);
    const bare = parseDomainXml(domainXml(disk('sda', 'sata')), mappings.domain);
    const none = mapDomainToOvf(bare, mappings, { ovfVersion: 1, drives: drivesOf(bare, () => undefined) });
    assert.match(none.warnings.join('\n'), /disk sda .*no image was provided/);
    assert.deepEqual([items(none, 17), items(none, 20)], [[], []], 'no disk, and no controller left without one');
  });
});

describe('mapDomainToOvf: what has no exact row', () => {
  it('writes a NIC or SCSI controller without model, or of an unknown model, without subtype and says what import makes of it', () => {
    const r = reverse("<interface type='bridge'><source bridge='br0'/></interface><interface type='user'><model type='ne2k_pci'/></interface>" + disk('sda', 'scsi', drive(0, 0)));
    assert.deepEqual(sub(r, 10), [undefined, undefined]);
    assert.deepEqual(sub(r, 6), [undefined]);
    const text = r.warnings.join('\n');
    assert.match(text, /interface 1 \(bridge\): no model; written as ResourceType 10 without subtype, which import makes e1000/);
    assert.match(text, /interface 2 \(user\): model ne2k_pci has no row/);
    assert.match(text, /SCSI controller 0: no model; .*lsilogic/);
    assert.deepEqual(r.envelope.networks.map((n) => n.name), ['br0', 'user']);
    assert.deepEqual(reimport(r).nics.map((n) => n.model), ['e1000', 'e1000']);
  });

  it('leaves out, with a warning, what no row maps: a PC speaker, passthrough NICs and TPMs, a second video card', () => {
    const r = reverse("<sound model='pcspk'/><interface type='hostdev'><source><address type='pci' domain='0' bus='1' slot='0' function='1'/></source></interface><tpm model='tpm-crb'><backend type='passthrough'/></tpm><video><model type='virtio'/></video><video><model type='qxl'/></video>");
    assert.deepEqual([items(r, 35), items(r, 10), items(r, 1)], [[], [], []]);
    assert.deepEqual(sub(r, 24), ['virtio']);
    const text = r.warnings.join('\n');
    for (const re of [/Sound card \(model pcspk\): no row of sound maps it; left out/, /hostdev interface passes a host device through/, /passthrough backend/, /1 more video device\(s\) \(qxl\)/]) assert.match(text, re);
  });
});

describe('mapDomainToOvf: the system', () => {
  it('writes vCPUs with CoresPerSocket, memory in MiB rounded up, firmware and secure boot as vmw:Config', () => {
    const r = reverse('', { memory: "<memory unit='KiB'>1048577</memory>", extra: "<cpu><topology sockets='1' dies='1' cores='2' threads='1'/></cpu>", os: "<os firmware='efi'><type arch='x86_64' machine='q35'>hvm</type><firmware><feature enabled='yes' name='secure-boot'/></firmware></os>" });
    const [[cpu], [memory]] = [items(r, 3), items(r, 4)];
    assert.deepEqual([cpu!.virtualQuantity, cpu!.coresPerSocket], ['2', 2]);
    assert.deepEqual([memory!.virtualQuantity, memory!.allocationUnits], ['1025', 'byte * 2^20']);
    assert.match(r.warnings.join('\n'), /1073742848 bytes is not a whole number of MiB; written as 1025 MiB/);
    assert.deepEqual(Object.entries(r.envelope.virtualSystems[0]!.hardware.vmwConfig), [['firmware', 'efi'], ['uefi.secureBoot.enabled', 'true']]);
    assert.deepEqual(r.envelope.virtualSystems[0]!.hardware.virtualSystemTypes, ['vmx-13']);
    assert.equal(reverse('').envelope.virtualSystems[0]!.hardware.vmwConfig['firmware'], 'bios');
  });

  it('numbers InstanceIDs 1, 2, 3... in document order with Parent pointing at controllers', () => {
    const r = reverse(disk('sda', 'sata', drive(0, 0)) + disk('hda', 'ide', drive(0, 0)) + disk('sdb', 'sata', drive(0, 1)));
    const all = r.envelope.virtualSystems[0]!.hardware.items;
    assert.deepEqual(all.map((i) => i.instanceId), all.map((_, n) => String(n + 1)));
    for (const i of all.filter((x) => x.parent !== undefined)) assert.ok([5, 6, 20].includes(all.find((c) => c.instanceId === i.parent)!.resourceType!), `Parent of ${i.elementName}`);
  });

  it('maps the libosinfo id through os.json: the export table, the first match, the family, or other', () => {
    const os = (osinfo?: string) => reverse('', osinfo ? { osinfo } : {}).envelope.virtualSystems[0]!.operatingSystem;
    assert.deepEqual(os('http://debian.org/debian/12'), { id: 96, vmwOsType: 'debian12_64Guest', description: 'http://debian.org/debian/12' });
    assert.deepEqual(os('http://microsoft.com/win/2k8'), { id: 76, vmwOsType: 'otherGuest64', description: 'http://microsoft.com/win/2k8' });
    assert.deepEqual(os('http://fedoraproject.org/fedora/40'), { id: 101, vmwOsType: 'otherLinux64Guest', description: 'http://fedoraproject.org/fedora/40' });
    assert.deepEqual(os('http://example.org/exotic/1'), { id: 102, vmwOsType: 'otherGuest64', description: 'http://example.org/exotic/1' });
    assert.deepEqual(os(), { id: 102, vmwOsType: 'otherGuest64' });
  });

  it('has an os.json export table whose vmw:osType values import reads back to the same libosinfo id family', () => {
    const table = mappings.os.export.osinfo;
    for (const [osinfo, entry] of Object.entries(table)) {
      const vmw = mappings.os.vmwOsType[entry.vmwOsType];
      assert.ok(vmw, `${osinfo}: vmwOsType ${entry.vmwOsType} is not a key of os.json vmwOsType`);
      const family = [mappings.os.vmwOsType, mappings.os.vboxOsType, mappings.os.ovirtOsType, mappings.os.cimOsType].flatMap((t) => Object.values(t)).find((e) => e.osinfo === osinfo)?.family;
      assert.equal(vmw.family, family, `${osinfo}: ${entry.vmwOsType} is another family`);
    }
  });

  it('refuses an unknown profile', () => assert.throws(() => reverse('', { profile: 'nonesuch' }), (err: unknown) => err instanceof UsageError && err.option === 'profile'));
});

describe('loadMappings: the export side of the tables', () => {
  it('gives export every row but the import-only ones, and nothing of the virtio profile', () => {
    assert.deepEqual(mappings.exportTables['devices']!.map((r) => r.id), deviceRows.filter((r) => r.direction !== 'import').map((r) => r.id));
    assert.deepEqual(mappings.tables['devices']!.map((r) => r.id), deviceRows.filter((r) => r.direction !== 'export').map((r) => r.id));
    assert.deepEqual(mappings.exportTables['virtio'], [], 'the virtio profile maps many types to one and is never read backwards');
  });

  it('refuses an export-only ignore row and an unknown direction', async () => {
    await withTempDir(async (dir) => {
      const cases = [
        [{ id: 'x', resourceTypes: [1], kind: 'ignore', reason: 'r', direction: 'export' }, /row "x" of kind ignore cannot be export-only/],
        [{ id: 'y', resourceTypes: [10], kind: 'nic', nic: { model: 'e1000' }, direction: 'sideways' }, /devices\.json: invalid mapping table at rows\.0\.direction/],
      ] as const;
      for (const [i, [row, re]] of cases.entries()) {
        mkdirSync(join(dir, String(i)));
        writeFileSync(join(dir, String(i), 'devices.json'), JSON.stringify({ rows: [row] }));
        assert.throws(() => loadMappings(join(dir, String(i))), (err: unknown) => err instanceof MappingError && re.test(err.message));
      }
    });
  });
});

describe('mapDomainToOvf: every export row is reachable', () => {
  it('uses every row export reads except the generic ones another row shadows', () => {
    const used = new Set<string>();
    const run = (devices: string, opts: Parameters<typeof reverse>[1] = {}) => reverse(devices, opts).rowsUsed.forEach((id) => used.add(id));
    const ctl = deviceRows.filter((r) => r.kind === 'controller' && r.direction !== 'import' && r.controller!.diskBus !== 'virtio');
    ctl.forEach((r, i) => run(disk('sda', r.controller!.type, drive(i, 0)) + `<controller type='${r.controller!.type}' index='${i}'${r.controller!.model && r.subTypes ? ` model='${r.controller!.model}'` : ''}/>`));
    run(disk('vda', 'virtio') + disk('sda', 'sata', drive(0, 0), 'cdrom'));
    for (const r of deviceRows.filter((x) => x.direction !== 'import')) {
      if (r.nic) run(`<interface type='user'>${r.subTypes ? `<model type='${r.nic.model}'/>` : ''}</interface>`);
      if (r.video) run(`<video><model type='${r.subTypes ? r.video.model : 'ramfb'}'/></video>`);
      if (r.sound) run(`<sound model='${r.sound.model}'/>`);
      if (r.usb) run(`<controller type='usb' index='0'${r.subTypes ? ` model='${r.usb.model}'` : ''}/>`);
      if (r.tpm) run(`<tpm model='${r.tpm.model}'><backend type='emulator' version='${r.tpm.version}'/></tpm>`);
    }
    const unused = deviceRows.filter((r) => r.direction !== 'import' && r.kind !== 'ignore' && !used.has(`devices:${r.id}`)).map((r) => r.id);
    // Shadowed by an earlier row mapping the same device: video-default by video-vmware (export writes a
    // vmx- VirtualSystemType), sound-hda (ich9) by sound-hda-vmware, which VMware reads.
    assert.deepEqual(unused, ['video-default', 'sound-hda']);
  });
});
