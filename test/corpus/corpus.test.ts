// The in-repo corpus: every descriptor under test/data (the golden import inputs, the dialect
// fixtures, test/data/corpus) is parsed and mapped under both profiles, and what it maps to is
// checked against its own Items read independently (items.ts); the deliberately broken ones are
// refused with the error test/data/corpus/refusals.json names. Needs nothing outside the repo.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseAndMap } from '../golden/adapter.js';
import { PROJECT_ROOT } from '../ovf/helpers.js';
import { decode, readItems, type RawItem } from './items.js';

const DATA = join(PROJECT_ROOT, 'test', 'data');
const DIRS = [join(DATA, 'golden', 'import'), DATA, join(DATA, 'corpus')];
const refusals = JSON.parse(readFileSync(join(DATA, 'corpus', 'refusals.json'), 'utf8')) as Record<string, { error: string; message: string }>;
const files = DIRS.flatMap((dir) => readdirSync(dir).filter((f) => f.endsWith('.ovf')).sort().map((name) => ({ dir, name })));

/** Descriptors where today's mapping disagrees with its Items: run as `todo` (reported, not failing) until fixed. */
const KNOWN_DEFECTS: Record<string, string> = {};

/** ResourceTypes that become a drive (CD/DVD 15-16, disk 17, Xen disk image 19); floppies (14) are never carried over. */
const DRIVE_TYPES = new Set([15, 16, 17, 19]);

describe('the in-repo corpus of descriptors', () => {
  it('holds at least 30 descriptors, and every refusal it expects names a file that is there', () => {
    assert.ok(files.length >= 30, `${files.length} descriptors`);
    for (const name of Object.keys(refusals)) assert.ok(files.some((f) => f.name === name), `${name} is listed in refusals.json but absent`);
  });

  for (const { dir, name } of files) {
    const path = join(dir, name);
    const refusal = refusals[name];
    if (refusal) {
      it(`refuses ${name} with ${refusal.error}: ${refusal.message}`, () => {
        assert.throws(
          () => parseAndMap(path, name, 'faithful'),
          (err: unknown) => err instanceof Error && err.constructor.name === refusal.error && err.message.startsWith(name) && err.message.includes(refusal.message),
        );
      });
      continue;
    }
    it(`maps ${name} under both profiles as its Items say`, KNOWN_DEFECTS[name] ? { todo: KNOWN_DEFECTS[name] } : {}, () => {
      const raw = readItems(decode(readFileSync(path)));
      const chosen = (items: readonly RawItem[]) => items.filter((i) => i.configuration === undefined || i.configuration === raw.defaultConfiguration);
      for (const profile of ['faithful', 'virtio']) {
        const mapped = parseAndMap(path, name, profile);
        assert.deepEqual(mapped.systems.map((s) => s.id).sort(), [...raw.systems.keys()].sort(), `${profile}: one mapped system per VirtualSystem`);
        for (const vs of mapped.systems) {
          const items = chosen(raw.systems.get(vs.id)!);
          const where = `${name} ${vs.id} (${profile})`;
          const cpu = items.find((i) => i.resourceType === 3)?.virtualQuantity;
          if (cpu !== undefined) assert.equal(vs.vcpus, cpu, `${where}: vCPUs`);
          assert.ok(vs.memoryBytes > 0 && vs.memoryBytes % 1024 === 0, `${where}: memory ${vs.memoryBytes} bytes`);
          assert.equal(vs.drives.length, items.filter((i) => DRIVE_TYPES.has(i.resourceType)).length, `${where}: one drive per disk and CD-ROM Item`);
          const nics = items.filter((i) => i.resourceType === 10);
          assert.equal(vs.nics.length, nics.length, `${where}: one NIC per Ethernet Item`);
          const macs = nics.map((n) => n.address?.toLowerCase()).filter((a): a is string => a !== undefined && /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(a));
          assert.deepEqual(vs.nics.map((n) => n.mac).filter((m) => m !== undefined), macs, `${where}: the MACs the Items give, in order`);
          if (profile === 'virtio') assert.ok(vs.nics.every((n) => n.model === 'virtio'), `${where}: virtio NICs`);
        }
      }
    });
  }
});
