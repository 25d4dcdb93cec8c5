// Differential test of the streaming VMDK decoder against qemu-img on broken and hostile
// streams: either both give the same guest bytes, or both refuse. Where qemu-img accepts what
// the decoder refuses, the case says why (qemu reads grains only through the grain tables and
// ignores the markers; the decoder places grains by their markers, so it refuses any stream
// where the two could disagree rather than guess), and the test asserts both outcomes.

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deflateSync } from 'node:zlib';
import { scratchDir } from '../export/vmdk/helpers.js';
import { craft, GRAIN, noise, ourDecode, qemuDecode, SECTOR, text, type Craft, type CraftGrain } from './vmdk-stream-helpers.js';

const CAPACITY = 1100 * 128 + 3; // three grain tables, a partial last grain
const base = (): CraftGrain[] => [
  { lba: 0, data: text(GRAIN, 1) },
  { lba: 2 * 128, data: Buffer.alloc(GRAIN) },
  { lba: 3 * 128, data: noise(GRAIN, 2) },
  { lba: 520 * 128, data: text(GRAIN, 3) },
  { lba: 1100 * 128, data: text(3 * SECTOR, 4) },
];
const good = (over: Partial<Craft> = {}): Buffer => craft({ capacitySectors: CAPACITY, grains: base(), ...over });

/** A case: the stream, and either `same` (equal output or both refuse) or the reason qemu-img accepts what we refuse. */
interface Case {
  name: string;
  bytes: () => Buffer;
  /** Words our refusal must contain. */
  says: RegExp;
  /** Set when qemu-img accepts the stream: why the decoder refuses anyway. */
  qemuAccepts?: string;
}

const cases: Case[] = [
  ...[1, 300, 128 * SECTOR + 5, 128 * SECTOR + 12 + 100, 3 * SECTOR, 2 * SECTOR].map((cut): Case => ({
    name: `truncated ${cut} bytes before the end`,
    bytes: () => good().subarray(0, good().length - cut),
    says: /truncated|ends at byte \d+|without the footer/,
    ...(cut < SECTOR ? { qemuAccepts: 'qemu rounds the file up to a whole sector and reads the missing bytes of the end-of-stream marker as zeros; the decoder wants the whole marker' } : {}),
  })),
  { name: 'truncated inside the lead-in', bytes: () => good().subarray(0, 5000), says: /truncated|descriptor/ },
  {
    name: 'a metadata marker of an unknown type between the grains',
    bytes: () => {
      const b = good();
      const at = 128 * SECTOR + Math.ceil((12 + deflateSync(text(GRAIN, 1)).length) / SECTOR) * SECTOR;
      b.writeUInt32LE(0, at + 8); // the second grain's size field → 0: a metadata marker
      b.writeUInt32LE(7, at + 12); // of type 7 (the table still names it, so qemu reads a grain of size 0)
      return b;
    },
    says: /unknown type 7/,
  },
  {
    name: 'a grain whose LBA lies beyond the capacity (named by no table)',
    bytes: () => good({ grains: [...base(), { lba: 1200 * 128, data: text(GRAIN, 5) }], editTables: (gt) => gt.delete(1200) }),
    says: /beyond the capacity/,
    qemuAccepts: 'qemu reads through the tables only and never sees a grain no table names; the decoder places grains by their markers and refuses one outside the disk',
  },
  {
    name: 'two grains for one LBA (the table names the second)',
    bytes: () => good({ grains: [...base().slice(0, 3), { lba: 3 * 128, data: text(GRAIN, 6) }, ...base().slice(3)] }),
    says: /second grain for that LBA/,
    qemuAccepts: 'qemu reads the grain the table names and ignores the other; overlapping grains are a corrupt or hostile stream, and a one-pass reader cannot know which one the table will name',
  },
  {
    name: 'a grain marker claiming more than twice the grain size',
    bytes: () => good({ grains: [base()[0]!, { lba: 128, compressed: noise(2 * GRAIN + 100, 9) }, ...base().slice(3)] }),
    says: /claiming \d+ compressed bytes/,
  },
  { name: 'garbage instead of deflate data', bytes: () => good({ grains: [base()[0]!, { lba: 128, compressed: noise(5000, 3) }] }), says: /does not inflate/ },
  { name: 'a grain that inflates to more than the grain size', bytes: () => good({ grains: [{ lba: 0, data: text(GRAIN + 600, 2) }] }), says: /more than the grain size/ },
  { name: 'a full grain that inflates short', bytes: () => good({ grains: [{ lba: 128, data: text(GRAIN - 512, 2) }] }), says: /fewer than/ },
  {
    name: 'grain tables that swap two grains',
    bytes: () => good({ editTables: (gt) => { const [a, b] = [gt.get(0)!, gt.get(3)!]; gt.set(0, b); gt.set(3, a); } }),
    says: /entry 0 (\(LBA 0\) )?names sector/,
    qemuAccepts: 'qemu places each grain where its table entry says and never reads the LBA in the marker; the decoder refuses tables that contradict the markers instead of following either',
  },
  {
    name: 'a grain no table names',
    bytes: () => good({ editTables: (gt) => gt.delete(520) }),
    says: /named by no grain table|names no grain/,
    qemuAccepts: 'qemu reads zeros where no table entry points and skips the orphan grain; the decoder refuses a stream whose grains and tables disagree',
  },
  { name: 'a footer whose capacity differs from the header', bytes: () => good({ editFooter: (f) => f.writeBigUInt64LE(BigInt(CAPACITY + 128), 12) }), says: /footer .* differs from the header/,
    qemuAccepts: 'qemu takes the footer\'s capacity (a different virtual size than the header promised); the decoder refuses the contradiction' },
  { name: 'a footer whose gdOffset misses the directory', bytes: () => good({ editFooter: (f) => f.writeBigUInt64LE(f.readBigUInt64LE(56) - 1n, 56) }), says: /footer names the grain directory at sector/ },
  { name: 'data after the end-of-stream marker', bytes: () => good({ trailing: Buffer.from('not padding') }), says: /after the end-of-stream marker is not zero/ },
  {
    name: 'zero padding after the end-of-stream marker',
    bytes: () => good({ trailing: Buffer.alloc(SECTOR) }),
    says: /^$/,
  },
  {
    name: 'a grain LBA that is no multiple of the grain size',
    bytes: () => good({ grains: [{ lba: 64, data: text(GRAIN, 7) }] }),
    says: /not a multiple of the grain size/,
    qemuAccepts: 'qemu reads the grain for the table entry (grain 0) and ignores the marker\'s LBA; the decoder refuses a marker that cannot be a grain start',
  },
];

describe('streaming VMDK decoder on broken streams, against qemu-img', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await scratchDir()));
  after(() => cleanup());

  for (const c of cases) {
    it(c.name, async () => {
      const vmdk = join(dir, 'x.vmdk');
      await writeFile(vmdk, c.bytes());
      const q = await qemuDecode(vmdk, join(dir, 'q.raw'));
      const o = await ourDecode(vmdk, join(dir, 'o.raw'), 4096);
      if (!o.ok) assert.match(o.error, c.says, `our refusal: ${o.error}`);
      if (!o.ok) assert.match(o.error, /x\.vmdk/, 'the refusal names the image');
      if (c.qemuAccepts !== undefined && q.ok) {
        assert.equal(o.ok, false, `the decoder accepted: ${c.qemuAccepts}`);
        return;
      }
      if (c.says.source === '^$' && !q.ok) {
        // qemu reads the footer from the last three sectors: padding after the end-of-stream marker hides it
        assert.ok(o.ok, 'the decoder accepts zero padding after the end-of-stream marker (the footer was read where it is)');
        assert.match(q.error, /footer|Invalid/i);
        return;
      }
      assert.equal(o.ok, q.ok, `qemu-img ${q.ok ? 'accepted' : `refused (${!q.ok && q.error.trim()})`}, the decoder ${o.ok ? 'accepted' : `refused (${!o.ok && o.error})`}`);
      if (o.ok && q.ok) assert.ok(o.raw.equals(q.raw), 'guest bytes differ');
    });
  }
});
