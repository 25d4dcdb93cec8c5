// mappings/export.json drives what export writes where the device tables have no row: a changed
// overlay changes the output, and a malformed one is refused at load.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseDomainXml } from '../../src/domain/parse.js';
import { MappingError } from '../../src/errors.js';
import { loadMappings, type Mappings } from '../../src/mapping/load.js';
import { devIndex } from '../../src/domain/target-dev.js';
import { busRules, driveAddress, vmdkAdapter } from '../../src/mapping/export-layout.js';
import { mapDomainToOvf } from '../../src/mapping/reverse.js';
import { PROJECT_ROOT, withTempDir } from '../ovf/helpers.js';

const builtin = JSON.parse(readFileSync(join(PROJECT_ROOT, 'mappings', 'export.json'), 'utf8')) as Record<string, unknown>;

/** Maps a domain with `devices` (2 GiB of memory, hard disks given a VMDK each). */
function reverse(mappings: Mappings, devices: string) {
  const domain = parseDomainXml(`<domain type='kvm'><name>t</name><memory unit='GiB'>2</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='q35'>hvm</type></os><devices>${devices}</devices></domain>`, mappings.domain);
  const drives = domain.disks.map((disk, i) => ({ disk, image: { href: `t-disk${i + 1}.vmdk`, format: 'vmdk' as const, capacityBytes: 2 ** 30 } }));
  return mapDomainToOvf(domain, mappings, { ovfVersion: 1, drives });
}

describe('mappings/export.json', () => {
  it('gives each bus its storage rules over busDefaults', () => {
    const t = loadMappings().export;
    assert.deepEqual([busRules(t, 'ide').vmdkAdapterType, busRules(t, 'sata').vmdkAdapterType, busRules(t, 'scsi').vmdkAdapterType], ['ide', 'lsilogic', 'lsilogic']);
    assert.deepEqual([busRules(t, 'ide').controllerItem, busRules(t, 'virtio').controllerItem, busRules(t, 'scsi').controllerItem], ['channel', 'domain', 'controller']);
    assert.deepEqual(busRules(t, 'sata').driveAddress, { units: 6, next: 'controller' });
    assert.equal(busRules(t, 'constructor').controllerItem, 'controller', 'only own keys of buses count');
  });

  it('gives each VMDK adapter type its geometry from vmdkAdapters (IDE: 16 heads, at most 16383 cylinders)', () => {
    const t = loadMappings().export;
    assert.deepEqual(vmdkAdapter(t, 'ide'), { type: 'ide', heads: 16, maxCylinders: 16383 });
    assert.deepEqual(vmdkAdapter(t, 'scsi'), { type: 'lsilogic', heads: 255, maxCylinders: 65535 });
  });

  it('counts target dev names as libvirt does and gives a disk without address libvirt\'s default one', () => {
    const mappings = loadMappings();
    const t = mappings.export;
    const names = mappings.domain.targetDev;
    assert.deepEqual(['sda', 'sdb', 'sdaa', 'vdc', 'hdd', 'xvdb', 'fdb'].map((d) => devIndex(d, names)), [0, 1, 26, 2, 3, 1, 1]);
    const at = (dev: string, bus: string) => driveAddress(parseDomainXml(`<domain type='kvm'><name>t</name><memory>1024</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os><devices><disk type='file' device='disk'><target dev='${dev}' bus='${bus}'/></disk></devices></domain>`, mappings.domain).disks[0]!, t, names);
    assert.deepEqual([at('hdc', 'ide'), at('sdh', 'sata'), at('sdi', 'scsi')], [
      { controller: 0, bus: 1, target: 0, unit: 0 },
      { controller: 1, bus: 0, target: 0, unit: 1 },
      { controller: 1, bus: 0, target: 0, unit: 1 },
    ]);
  });

  it('is what export reads: memory units, the TPM default, default drive addresses and vmw:Config values follow an overlay', async () => {
    await withTempDir(async (dir) => {
      const buses = { ...(builtin['buses'] as object), sata: { driveAddress: { units: 2, next: 'controller' } } };
      const firmwareValues = { ...(builtin['firmwareValues'] as object), bios: 'legacy' };
      writeFileSync(join(dir, 'export.json'), JSON.stringify({ ...builtin, allocationUnits: { processor: 'hertz * 10^6', memory: 'byte * 2^30' }, tpmWhenAbsent: { model: 'tpm-crb', version: '2.0' }, buses, firmwareValues }));
      const devices = "<disk type='file' device='disk'><source file='/i/a'/><target dev='sdc' bus='sata'/></disk><controller type='sata' index='0'/><controller type='sata' index='1'/><tpm><backend type='emulator'/></tpm>";
      const [before, after] = [reverse(loadMappings(), devices), reverse(loadMappings(dir), devices)];
      const memory = (r: typeof before) => r.envelope.virtualSystems[0]!.hardware.items.find((i) => i.resourceType === 4)!;
      assert.deepEqual([memory(before).virtualQuantity, memory(before).allocationUnits], ['2048', 'byte * 2^20']);
      assert.deepEqual([memory(after).virtualQuantity, memory(after).allocationUnits], ['2', 'byte * 2^30']);
      assert.ok(before.rowsUsed.includes('devices:tpm-tis') && after.rowsUsed.includes('devices:tpm'), 'a <tpm> without model is tpm-tis, then tpm-crb');
      const sata = (r: typeof before) => r.envelope.virtualSystems[0]!.hardware.items.filter((i) => i.resourceType === 20).map((i) => i.address);
      assert.deepEqual([sata(before), sata(after)], [['0'], ['1']], 'sdc is unit 2 of controller 0, then unit 0 of controller 1');
      assert.deepEqual([before.envelope.virtualSystems[0]!.hardware.vmwConfig['firmware'], after.envelope.virtualSystems[0]!.hardware.vmwConfig['firmware']], ['bios', 'legacy']);
    });
  });

  it('refuses an overlay export.json with an unknown key or a bad bus rule, naming the file and the path', async () => {
    await withTempDir(async (dir) => {
      for (const [bad, path] of [[{ ...builtin, extra: 1 }, /\(root\)/], [{ ...builtin, buses: { ide: { controllerItem: 'bus' } } }, /buses\.ide\.controllerItem/], [{ ...builtin, buses: { ide: { vmdkAdapterType: 'ultrascsi' } } }, /buses\.ide\.vmdkAdapterType.*"ultrascsi" is not one of vmdkAdapters\.types/]] as const) {
        writeFileSync(join(dir, 'export.json'), JSON.stringify(bad));
        assert.throws(() => loadMappings(dir), (err: unknown) => err instanceof MappingError && /export\.json: invalid mapping table/.test(err.message) && path.test(err.message));
      }
    });
  });
});
