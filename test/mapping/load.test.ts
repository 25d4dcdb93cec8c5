// loadMappings: the built-in tables, --mappings overlays, schema failures, and coverage of every device row.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MappingError } from '../../src/errors.js';
import { mapVirtualSystem } from '../../src/mapping/apply.js';
import { BUILTIN_MAPPINGS_DIR, loadMappings, type MappingRow } from '../../src/mapping/load.js';
import { parseEnvelope } from '../../src/ovf/parse.js';
import { cpuAndMemory, ovfDocument, PROJECT_ROOT, withTempDir, type ItemSpec } from '../ovf/helpers.js';

const E1000_SYSTEM = ovfDocument({
  networks: ['LAN'],
  systems: [{ id: 'vm', items: [...cpuAndMemory(), { rasd: { InstanceID: '3', ResourceType: '10', ResourceSubType: 'E1000', Connection: 'LAN' } }] }],
});

/** The rows of a shipped table; with `forImport`, without those marked "direction": "export" (read only by mapping/reverse.ts). */
function builtinRows(table: string, forImport = false): MappingRow[] {
  return (JSON.parse(readFileSync(join(PROJECT_ROOT, 'mappings', `${table}.json`), 'utf8')) as { rows: MappingRow[] }).rows.filter((r) => !forImport || r.direction !== 'export');
}

/** Asserts that loading `dir` as an overlay throws a MappingError whose message matches every pattern. */
function assertMappingError(dir: string, ...patterns: RegExp[]): void {
  assert.throws(
    () => loadMappings(dir),
    (err: unknown) => {
      assert.ok(err instanceof MappingError, `expected MappingError, got ${String(err)}`);
      for (const p of patterns) assert.match(err.message, p);
      assert.equal(err.exitCode, 3);
      return true;
    },
  );
}

describe('loadMappings: the built-in tables', () => {
  it('finds the shipped mappings/ directory', () => {
    assert.equal(BUILTIN_MAPPINGS_DIR, join(PROJECT_ROOT, 'mappings'));
  });

  it('loads every table and both profiles', () => {
    const m = loadMappings();
    assert.deepEqual(Object.keys(m.tables).sort(), ['devices', 'virtio']);
    assert.deepEqual(m.tables['devices']!.map((r) => r.id), builtinRows('devices', true).map((r) => r.id));
    assert.deepEqual(m.tables['virtio']!.map((r) => r.id), builtinRows('virtio', true).map((r) => r.id));
    assert.deepEqual(Object.keys(m.defaults.profiles).sort(), ['faithful', 'virtio']);
    assert.deepEqual(m.defaults.profiles['virtio']!.tables, ['virtio', 'devices']);
    assert.ok(m.formats.length > 0);
    assert.equal(m.os.vmwOsType['ubuntu64Guest']?.family, 'linux');
    assert.equal(m.os.cimOsType['74']?.family, 'windows');
  });

  it('has unique row ids in each device table', () => {
    for (const table of ['devices', 'virtio']) {
      const ids = builtinRows(table).map((r) => r.id);
      assert.equal(new Set(ids).size, ids.length, `${table}.json has a duplicate row id`);
    }
  });

  it('has formats.json patterns that are valid regular expressions and pick the expected formats', () => {
    const m = loadMappings();
    const pick = (uri: string) => m.formats.find((r) => new RegExp(r.pattern, 'i').test(uri))?.format;
    assert.equal(pick('http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized'), 'vmdk');
    assert.equal(pick('http://www.vmware.com/specifications/vmdk.html#sparse'), 'vmdk');
    assert.equal(pick('http://www.microsoft.com/technet/virtualserver/downloads/vhdspec.mspx'), 'vpc');
    assert.equal(pick('http://www.ecma-international.org/publications/standards/Ecma-119.htm'), 'raw');
    assert.equal(pick('http://en.wikipedia.org/wiki/Byte'), 'raw');
    assert.equal(pick('https://people.gnome.org/~markmc/qcow-image-format.html'), 'qcow2');
  });
});

describe('loadMappings: a --mappings overlay', () => {
  it('lets an overlay devices.json row win over the built-in row (E1000 becomes rtl8139)', async () => {
    await withTempDir(async (dir) => {
      writeFileSync(
        join(dir, 'devices.json'),
        JSON.stringify({ rows: [{ id: 'nic-e1000-as-rtl8139', resourceTypes: [10], subTypes: ['E1000'], kind: 'nic', nic: { model: 'rtl8139' } }] }),
      );
      const m = loadMappings(dir);
      assert.equal(m.tables['devices']![0]!.id, 'nic-e1000-as-rtl8139');
      assert.equal(m.tables['devices']!.length, builtinRows('devices', true).length + 1);
      const env = parseEnvelope(Buffer.from(E1000_SYSTEM), 'e1000.ovf');
      const mapped = mapVirtualSystem(env, env.virtualSystems[0]!, m, { profile: 'faithful' });
      assert.equal(mapped.nics[0]!.model, 'rtl8139');
      assert.ok(mapped.rowsUsed.includes('devices:nic-e1000-as-rtl8139'));
      const builtin = mapVirtualSystem(env, env.virtualSystems[0]!, loadMappings(), { profile: 'faithful' });
      assert.equal(builtin.nics[0]!.model, 'e1000');
    });
  });

  it('merges os.json keys and defaults.json top-level keys over the built-in ones', async () => {
    await withTempDir(async (dir) => {
      writeFileSync(join(dir, 'os.json'), JSON.stringify({ vmwOsType: { myGuest: { osinfo: 'http://example.org/my/1', family: 'other' } }, cimOsType: {} }));
      const base = JSON.parse(readFileSync(join(PROJECT_ROOT, 'mappings', 'defaults.json'), 'utf8')) as Record<string, unknown>;
      writeFileSync(join(dir, 'defaults.json'), JSON.stringify({ ...base, defaultNetwork: 'lab' }));
      const m = loadMappings(dir);
      assert.equal(m.os.vmwOsType['myGuest']?.osinfo, 'http://example.org/my/1');
      assert.equal(m.os.vmwOsType['ubuntu64Guest']?.family, 'linux', 'built-in keys stay');
      assert.equal(m.defaults.defaultNetwork, 'lab');
      assert.deepEqual(Object.keys(m.defaults.profiles).sort(), ['faithful', 'virtio']);
    });
  });

  it('refuses an overlay directory that does not exist', () => {
    assert.throws(() => loadMappings(join(PROJECT_ROOT, 'no-such-mappings-dir')), (err: unknown) => err instanceof MappingError && /no such directory/.test(err.message));
  });

  it('refuses a row of an unknown kind, naming the file and the JSON path', async () => {
    await withTempDir(async (dir) => {
      writeFileSync(join(dir, 'devices.json'), JSON.stringify({ rows: [{ id: 'gpu', resourceTypes: [24], kind: 'gpu' }] }));
      assertMappingError(dir, new RegExp(join(dir, 'devices.json').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')), /rows\.0\.kind/);
    });
  });

  it('refuses a controller row without its controller object, naming the table', async () => {
    await withTempDir(async (dir) => {
      writeFileSync(join(dir, 'virtio.json'), JSON.stringify({ rows: [{ id: 'bare-controller', resourceTypes: [6], kind: 'controller' }] }));
      assertMappingError(dir, /virtio\.json/, /bare-controller/, /needs a "controller" object/);
    });
  });

  it('refuses unknown keys, bad controller enums and bad OS ids', async () => {
    await withTempDir(async (dir) => {
      const sub = (name: string, file: string, body: unknown): string => {
        const d = join(dir, name);
        mkdirSync(d);
        writeFileSync(join(d, file), JSON.stringify(body));
        return d;
      };
      assertMappingError(sub('a', 'devices.json', { rows: [{ id: 'x', resourceTypes: [10], kind: 'nic', nic: { model: 'e1000' }, colour: 'red' }] }), /devices\.json/);
      assertMappingError(
        sub('b', 'devices.json', { rows: [{ id: 'x', resourceTypes: [6], kind: 'controller', controller: { type: 'scsi', diskBus: 'scsi', address: 'lun', maxAddress: 7 } }] }),
        /devices\.json/,
        /controller\.address/,
      );
      assertMappingError(sub('c', 'os.json', { vmwOsType: {}, cimOsType: { linux: { osinfo: 'http://x.org/y', family: 'linux' } } }), /os\.json/);
      assertMappingError(sub('d', 'devices.json', { rows: [{ id: 'x', resourceTypes: [], kind: 'ignore', reason: 'r' }] }), /devices\.json/, /resourceTypes/);
      assertMappingError(sub('e', 'devices.json', { rows: [{ id: 'x', resourceTypes: [1], kind: 'ignore' }] }), /needs a "reason"/);
      assertMappingError(sub('f', 'devices.json', { rows: [{ id: 'x', resourceTypes: [1], kind: 'ignore', reason: 'r', systemTypes: '([' }] }), /invalid systemTypes/);
    });
  });

  it('refuses a table that is not JSON, naming the file', async () => {
    await withTempDir(async (dir) => {
      writeFileSync(join(dir, 'formats.json'), '{ "rows": [ ');
      assertMappingError(dir, /formats\.json: cannot read mapping table/);
    });
  });

  it('refuses a profile that names a table that does not exist', async () => {
    await withTempDir(async (dir) => {
      const base = JSON.parse(readFileSync(join(PROJECT_ROOT, 'mappings', 'defaults.json'), 'utf8')) as { profiles: Record<string, unknown> };
      writeFileSync(join(dir, 'defaults.json'), JSON.stringify({ ...base, profiles: { odd: { tables: ['nonesuch'], machine: 'q35' } } }));
      assertMappingError(dir, /profile "odd" names unknown table "nonesuch"/);
    });
  });
});

describe('loadMappings: every row of devices.json and virtio.json is reachable', () => {
  const rasd = (id: number, type: number, sub?: string, more: Record<string, string> = {}): ItemSpec => ({
    rasd: { InstanceID: String(id), ResourceType: String(type), ...(sub !== undefined ? { ResourceSubType: sub } : {}), ...more },
  });
  /** VMware hardware: vmx- system type. */
  const vmware: ItemSpec[] = [
    ...cpuAndMemory(2),
    rasd(10, 5, undefined, { Address: '0' }),
    rasd(11, 6, 'VirtualSCSI'),
    rasd(12, 6, 'lsilogicsas'),
    rasd(13, 6, 'lsilogic'),
    rasd(14, 6, 'virtio-scsi'),
    rasd(15, 6, 'buslogic'),
    rasd(16, 6),
    rasd(17, 20, 'vmware.sata.ahci'),
    rasd(18, 20, 'vmware.nvme.controller'),
    rasd(20, 17, undefined, { Parent: '11', AddressOnParent: '0' }),
    rasd(21, 31, undefined, { Parent: '12', AddressOnParent: '0' }),
    rasd(22, 15, undefined, { Parent: '10', AddressOnParent: '0' }),
    rasd(23, 16, undefined, { Parent: '17', AddressOnParent: '1' }),
    rasd(24, 14),
    rasd(25, 19, 'Virtual Hard Disk Image', { Parent: '18', AddressOnParent: '0' }),
    rasd(26, 17, undefined, { Parent: '13', AddressOnParent: '0' }),
    rasd(27, 17, undefined, { Parent: '14', AddressOnParent: '0' }),
    rasd(28, 17, undefined, { Parent: '15', AddressOnParent: '0' }),
    rasd(29, 17, undefined, { Parent: '16', AddressOnParent: '0' }),
    rasd(30, 10, 'VmxNet3'),
    rasd(31, 10, 'VmxNet2'),
    rasd(32, 10, 'E1000e'),
    rasd(33, 10, 'E1000'),
    rasd(34, 10, 'PCNet32'),
    rasd(35, 10, 'virtio'),
    rasd(36, 10, 'rtl8139'),
    rasd(37, 10),
    rasd(40, 24),
    rasd(41, 1, 'vmware.soundcard.hdaudio'),
    rasd(42, 1, 'vmware.soundcard.ensoniq1371'),
    rasd(43, 35, 'ac97'),
    rasd(44, 35, 'HDA'),
    rasd(45, 35, 'SB16'),
    rasd(46, 23, 'vmware.usb.xhci'),
    rasd(47, 23, 'vmware.usb.ehci'),
    rasd(48, 23),
    rasd(49, 1, 'vmware.vtpm'),
    rasd(50, 21, 'vmware.serialport.device'),
    rasd(51, 21),
    rasd(52, 22),
    rasd(53, 1, 'vmware.vmci'),
    ...[rasd(54, 20, 'virtio-blk'), rasd(55, 17, undefined, { Parent: '54', AddressOnParent: '0' }), ...['vga', 'qxl', 'virtio', 'cirrus', 'bochs'].map((m, i) => rasd(56 + i, 24, m))],
  ];
  /** Non-VMware hardware: the generic video row; USB controllers named by their libvirt model (virt-ovf's exports). */
  const generic: ItemSpec[] = [...cpuAndMemory(), rasd(3, 24), rasd(4, 23, 'piix3-uhci'), rasd(5, 23, 'piix4-uhci'), rasd(6, 23, 'pci-ohci')];
  /** oVirt hardware: the ENGINE-only row. */
  const ovirtItem = (id: number, type: number, xml: string): ItemSpec => ({ ...rasd(id, type), extraXml: `        ${xml}\n` });
  const ovirt: ItemSpec[] = [
    ...cpuAndMemory(),
    rasd(3, 20),
    rasd(4, 32768, 'nvram'),
    ovirtItem(5, 20, '<Type>video</Type><Device>qxl</Device>'),
    ovirtItem(6, 20, '<Type>video</Type><Device>cirrus</Device>'),
    ovirtItem(7, 20, '<Type>video</Type><Device>bochs</Device>'),
    ovirtItem(8, 20, '<Type>video</Type><Device>vga</Device>'),
    ovirtItem(9, 0, '<Type>balloon</Type><Device>memballoon</Device>'),
    rasd(10, 10, '3'),
    rasd(11, 10, '2'),
    rasd(12, 10, '1'),
  ];
  const doc = ovfDocument({
    systems: [
      { id: 'vmware', systemType: 'vmx-19', items: vmware },
      { id: 'generic', systemType: 'virtualbox-2.2', items: generic },
      { id: 'ovirt', systemType: 'ENGINE 4.4.0.0', items: ovirt },
    ],
  });

  it('hits every row id with the faithful and virtio profiles', () => {
    const mappings = loadMappings();
    const env = parseEnvelope(Buffer.from(doc), 'coverage.ovf');
    assert.equal(env.virtualSystems.length, 3);
    const used = new Set<string>();
    for (const profile of ['faithful', 'virtio']) {
      for (const vs of env.virtualSystems) {
        const mapped = mapVirtualSystem(env, vs, mappings, { profile });
        for (const id of mapped.rowsUsed) used.add(id);
      }
    }
    const expected = [...builtinRows('devices', true).map((r) => `devices:${r.id}`), ...builtinRows('virtio', true).map((r) => `virtio:${r.id}`)];
    const missed = expected.filter((id) => !used.has(id));
    assert.deepEqual(missed, [], `rows never hit: ${missed.join(', ')}`);
    assert.deepEqual([...used].filter((id) => !expected.includes(id)), []);
  });
});
