// Tables and profiles found in the mappings directory: an overlay adds a device table and a profile,
// used end to end by the real CLI; unknown profiles and bad table files are named in the error.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MappingError, UsageError } from '../../src/errors.js';
import { FIXED_TABLE_FILES, deviceTableNames, loadMappings, mergeKeys, profileNames, resolveProfile, BUILTIN_MAPPINGS_DIR } from '../../src/mapping/load.js';
import { runCli } from '../commands/helpers.js';
import { cpuAndMemory, ovfDocument, withTempDir } from '../ovf/helpers.js';

/** One VirtualSystem with an E1000 NIC (faithful: e1000) on network LAN. */
const E1000_OVF = ovfDocument({
  networks: ['LAN'],
  systems: [{ id: 'vm', items: [...cpuAndMemory(), { rasd: { InstanceID: '3', ResourceType: '10', ResourceSubType: 'E1000', Connection: 'LAN' } }] }],
});

/** Writes an overlay with device table `lab.json` (every NIC an rtl8139) and profile "lab" = [lab, devices] into `dir`. */
function writeLabOverlay(dir: string): void {
  writeFileSync(join(dir, 'lab.json'), JSON.stringify({ $comment: 'lab NICs', rows: [{ id: 'lab-nic', resourceTypes: [10], kind: 'nic', nic: { model: 'rtl8139' } }] }));
  writeFileSync(join(dir, 'defaults.json'), JSON.stringify({ profiles: { lab: { tables: ['lab', 'devices'], machine: 'pc' } } }));
}

describe('loadMappings: tables and profiles found in the directory', () => {
  it('reads every .json but the fixed tables as a device table', () => {
    assert.deepEqual(FIXED_TABLE_FILES.slice(0, 3), ['os.json', 'formats.json', 'defaults.json']);
    assert.deepEqual(deviceTableNames(BUILTIN_MAPPINGS_DIR), ['devices', 'virtio']);
    assert.deepEqual(profileNames(), ['faithful', 'virtio']);
  });

  it('merges a new fixed table by default key by key, objects one level down (mergeKeys)', () => {
    const base = { a: { x: 1, y: 1 }, b: [0], c: 3, d: 'keep' };
    assert.deepEqual(mergeKeys({ a: { x: 2, y: 1 }, b: [1], c: 4, d: 'keep' }, base), { a: { x: 2, y: 1 }, b: [1], c: 4, d: 'keep' });
    assert.deepEqual(mergeKeys({ a: { x: 2 } } as unknown as typeof base, base), { a: { x: 2, y: 1 }, b: [0], c: 3, d: 'keep' });
    assert.deepEqual(base, { a: { x: 1, y: 1 }, b: [0], c: 3, d: 'keep' }, 'the built-in table is not modified');
  });

  it('consults every built-in device table from some profile (a fixed table read as a device table would not be)', () => {
    const m = loadMappings();
    const consulted = new Set(Object.values(m.defaults.profiles).flatMap((p) => p.tables));
    assert.deepEqual(Object.keys(m.tables).filter((t) => !consulted.has(t)), []);
  });

  it('never reads an overlay fixed table (os.json, formats.json) as a device table', async () => {
    await withTempDir(async (dir) => {
      writeFileSync(join(dir, 'os.json'), JSON.stringify({ vmwOsType: { labGuest: { osinfo: 'http://example.org/lab/1', family: 'other' } } }));
      writeFileSync(join(dir, 'formats.json'), JSON.stringify({ rows: [{ pattern: 'lab-format', format: 'raw' }] }));
      const m = loadMappings(dir);
      assert.deepEqual(Object.keys(m.tables).sort(), ['devices', 'virtio']);
      assert.equal(m.os.vmwOsType['labGuest']?.family, 'other');
      assert.deepEqual(m.formats[0], { pattern: 'lab-format', format: 'raw' });
    });
  });

  it('adds an overlay device table and profile, keeping the built-in ones and their defaults', async () => {
    await withTempDir(async (dir) => {
      writeLabOverlay(dir);
      writeFileSync(join(dir, 'README.txt'), 'not a table');
      const m = loadMappings(dir);
      assert.deepEqual(Object.keys(m.tables).sort(), ['devices', 'lab', 'virtio']);
      assert.deepEqual(m.tables['lab']!.map((r) => r.id), ['lab-nic']);
      assert.deepEqual(profileNames(m), ['faithful', 'lab', 'virtio']);
      assert.deepEqual(resolveProfile(m, 'lab'), { tables: ['lab', 'devices'], machine: 'pc' });
      const builtin = loadMappings();
      assert.deepEqual({ ...m.defaults, profiles: {} }, { ...builtin.defaults, profiles: {} }, 'keys the overlay does not name stay built-in');
      assert.deepEqual(m.os, builtin.os);
      assert.deepEqual(m.formats, builtin.formats);
    });
  });

  it('imports with the overlay profile through the real CLI (--print-xml --mappings DIR --profile lab)', async () => {
    await withTempDir(async (dir) => {
      const overlay = join(dir, 'overlay');
      mkdirSync(overlay);
      writeLabOverlay(overlay);
      const ovf = join(dir, 'lab.ovf');
      writeFileSync(ovf, E1000_OVF);
      const r = await runCli(['import', ovf, '--print-xml', '--virt-type', 'qemu', '--mappings', overlay, '--profile', 'lab']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /<model type=["']rtl8139["']\/>/);
      assert.match(r.stdout, /machine=["']pc["']/);
      assert.match(r.stdout, /profile=["']lab["']/);
      const faithful = await runCli(['import', ovf, '--print-xml', '--virt-type', 'qemu', '--mappings', overlay]);
      assert.equal(faithful.code, 0, faithful.stderr);
      assert.match(faithful.stdout, /<model type=["']e1000["']\/>/, 'the built-in profiles still apply under the overlay');
    });
  });
});

describe('loadMappings: unknown profiles', () => {
  it('resolveProfile refuses an unknown name with a UsageError listing the known ones, naming no flag', () => {
    assert.throws(
      () => resolveProfile(loadMappings(), 'fastest'),
      (err: unknown) => {
        assert.ok(err instanceof UsageError);
        assert.equal(err.message, 'unknown profile "fastest" (known: faithful, virtio)');
        assert.equal(err.option, 'profile');
        assert.equal(err.exitCode, 2);
        return true;
      },
    );
    assert.throws(() => resolveProfile(loadMappings(), 'toString'), UsageError, 'no profile from Object.prototype');
  });

  it('the CLI refuses an unknown profile with the overlay profiles listed and the flag named', async () => {
    await withTempDir(async (dir) => {
      writeLabOverlay(dir);
      const ovf = join(dir, 'lab.ovf');
      writeFileSync(ovf, E1000_OVF);
      const r = await runCli(['inspect', ovf, '--mappings', dir, '--profile', 'fastest']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /virt-ovf: error: unknown profile "fastest" \(known: faithful, lab, virtio\) \(--profile\)/);
      const exp = await runCli(['export', 'no-such-domain', '-o', join(dir, 'out.ova'), '--mappings', dir, '--profile', 'fastest']);
      assert.equal(exp.code, 2, exp.stderr);
      assert.match(exp.stderr, /unknown profile "fastest" \(known: faithful, lab, virtio\)/, 'checked before libvirt is asked for the domain');
    });
  });

  it('without --mappings, --profile offers the built-in profiles as choices', async () => {
    const r = await runCli(['inspect', 'x.ova', '--profile', 'lab']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Choices: "faithful", "virtio"/);
    const help = await runCli(['import', '--help']);
    assert.match(help.stdout, /--profile .*\[choices: "faithful", "virtio"\]/s);
  });
});

describe('loadMappings: bad table files', () => {
  it('names an overlay file that is not a device table, and says which files are read as device tables', async () => {
    await withTempDir(async (dir) => {
      writeFileSync(join(dir, 'notes.json'), JSON.stringify({ author: 'me' }));
      assert.throws(
        () => loadMappings(dir),
        (err: unknown) => err instanceof MappingError && err.message.startsWith(`${join(dir, 'notes.json')}: invalid mapping table at rows:`) && /every \.json file but os\.json, formats\.json, defaults\.json/.test(err.message),
      );
    });
  });

  it('names a bad overlay device table through the CLI with exit status 3', async () => {
    await withTempDir(async (dir) => {
      writeFileSync(join(dir, 'lab.json'), '{ "rows": [ { "id": "x" ');
      const r = await runCli(['inspect', join(dir, 'none.ovf'), '--mappings', dir]);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, new RegExp(`virt-ovf: error: ${join(dir, 'lab.json').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: cannot read mapping table`));
    });
  });

  it('validates an overlay defaults.json key by key and refuses an unknown key', async () => {
    await withTempDir(async (dir) => {
      writeFileSync(join(dir, 'defaults.json'), JSON.stringify({ defaultNetwork: 'lab', colour: 'red' }));
      assert.throws(() => loadMappings(dir), (err: unknown) => err instanceof MappingError && /defaults\.json: invalid mapping table at \(root\): Unrecognized key: "colour"/.test(err.message));
      writeFileSync(join(dir, 'defaults.json'), JSON.stringify({ defaultNetwork: 'lab' }));
      assert.equal(loadMappings(dir).defaults.defaultNetwork, 'lab');
    });
  });

  it('refuses a --mappings path that is a file, naming the option', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'defaults.json');
      writeFileSync(file, readFileSync(join(BUILTIN_MAPPINGS_DIR, 'defaults.json')));
      assert.throws(() => loadMappings(file), (err: unknown) => err instanceof MappingError && err.option === 'mappings' && /no such directory/.test(err.message));
      const r = await runCli(['inspect', join(dir, 'none.ovf'), '--mappings', file]);
      assert.equal(r.code, 3);
      assert.match(r.stderr, /no such directory \(--mappings\)/);
    });
  });
});
