// Unit tests of the streamOptimized VMDK building blocks: header, markers, descriptor,
// geometry, the stream layout (grain tables / directory / footer) and grain batching.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { grainBatches } from '../../../src/export/vmdk/batches.js';
import { encodeDescriptor, encodeLeadIn, encodeMetadataMarker, encodeSparseHeader, GD_AT_END, geometry, MarkerType } from '../../../src/export/vmdk/format.js';
import { StreamLayout } from '../../../src/export/vmdk/layout.js';
import type { MapExtent } from '../../../src/storage/qemu-img-map.js';
import { parseHeader } from './helpers.js';
import { adapterOf } from './helpers.js';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function* extents(list: Array<Partial<MapExtent> & { start: number; length: number }>): AsyncGenerator<MapExtent> {
  for (const e of list) yield { data: true, zero: false, depth: 0, ...e };
}

describe('streamOptimized VMDK format', () => {
  it('encodes the sparse extent header as VMware writes stream-optimized extents', () => {
    const h = parseHeader(encodeSparseHeader({ capacitySectors: 2001n, gdOffset: GD_AT_END }));
    assert.deepEqual(h, {
      magic: 'KDMV',
      version: 3,
      flags: 0x30001,
      capacity: 2001n,
      grainSize: 128n,
      descriptorOffset: 1n,
      descriptorSize: 20n,
      numGTEsPerGT: 512,
      rgdOffset: 0n,
      gdOffset: 0xffffffffffffffffn,
      overHead: 128n,
      uncleanShutdown: 0,
      newlineChars: '\n \r\n',
      compressAlgorithm: 1,
    });
  });

  it('encodes metadata markers: sectors that follow, size 0, type at byte 12', () => {
    const m = encodeMetadataMarker(MarkerType.GrainTable, 4);
    assert.equal(m.length, 512);
    assert.equal(m.readBigUInt64LE(0), 4n);
    assert.equal(m.readUInt32LE(8), 0);
    assert.equal(m.readUInt32LE(12), 1);
    assert.ok(m.subarray(16).equals(Buffer.alloc(496)));
  });

  it('writes a descriptor with one SPARSE extent, createType streamOptimized and the disk database', () => {
    const text = encodeDescriptor(4194304, { fileName: 'vm-disk1.vmdk', adapter: adapterOf('lsilogic'), cid: 0x1234abcd }).toString();
    assert.match(text, /^# Disk DescriptorFile\nversion=1\n/);
    assert.match(text, /^CID=1234abcd$/m);
    assert.match(text, /^parentCID=ffffffff$/m);
    assert.match(text, /^createType="streamOptimized"$/m);
    assert.match(text, /^RW 4194304 SPARSE "vm-disk1.vmdk"$/m);
    assert.match(text, /^ddb.adapterType = "lsilogic"$/m);
    assert.match(text, /^ddb.geometry.cylinders = "262"$/m);
    assert.match(text, /^ddb.geometry.heads = "255"$/m);
    assert.match(text, /^ddb.geometry.sectors = "63"$/m);
    assert.match(text, /^ddb.virtualHWVersion = "4"$/m);
    assert.match(text, /^ddb.longContentID = "[0-9a-f]{24}1234abcd"$/m);
    assert.equal(text.split('\n').filter((l) => / SPARSE /.test(l)).length, 1);
    assert.throws(() => encodeDescriptor(1, { fileName: 'a"b', adapter: adapterOf('ide') }), /must not contain quotes/);
  });

  it('computes BIOS geometry for IDE (16 heads, at most 16383 cylinders) and SCSI (255 heads)', () => {
    assert.deepEqual(geometry(2048, adapterOf('ide')), { cylinders: 3, heads: 16, sectors: 63 });
    assert.deepEqual(geometry(2 ** 40, adapterOf('ide')).cylinders, 16383);
    assert.deepEqual(geometry(2 ** 40, adapterOf('buslogic')).cylinders, 65535);
    assert.deepEqual(geometry(1, adapterOf('lsilogic')), { cylinders: 1, heads: 255, sectors: 63 });
  });

  it('lays out the lead-in: header with gdOffset GD_AT_END, descriptor at sector 1, 64 KiB in all', () => {
    const lead = encodeLeadIn(100, { fileName: 'd.vmdk', adapter: adapterOf('ide') });
    assert.equal(lead.length, 65536);
    assert.equal(parseHeader(lead).gdOffset, GD_AT_END);
    assert.match(lead.toString('utf8', 512, 1024), /^# Disk DescriptorFile/);
    assert.equal(lead[512 + 20 * 512 - 1], 0, 'descriptor is NUL-padded');
  });
});

describe('StreamLayout', () => {
  it('places grains, writes each grain table after its grains, skips empty tables, ends with GD, footer and EOS', () => {
    const capacity = 3 * 512 * 128; // three grain tables' worth
    const layout = new StreamLayout(capacity);
    assert.equal(layout.place([0, 1], [0, 3], 5), undefined, 'nothing to flush before the first table');
    assert.equal(layout.bytes, (128 + 5) * 512);
    const gt0 = layout.place([1024 + 7], [0], 2); // table 2: table 0 is flushed, table 1 stays empty
    assert.ok(gt0);
    assert.equal(gt0.length, 5 * 512);
    assert.equal(gt0.readUInt32LE(12), MarkerType.GrainTable);
    assert.equal(gt0.readBigUInt64LE(0), 4n);
    assert.equal(gt0.readUInt32LE(512), 128, 'grain 0 marker at sector 128');
    assert.equal(gt0.readUInt32LE(516), 131, 'grain 1 marker at sector 131');
    const tail = layout.finish();
    // GT marker + GT for table 2, GD marker + 1 GD sector, footer marker + footer, EOS
    assert.equal(tail.length, (5 + 2 + 2 + 1) * 512);
    const gdMarker = tail.subarray(5 * 512, 6 * 512);
    assert.equal(gdMarker.readUInt32LE(12), MarkerType.GrainDirectory);
    const gd = tail.subarray(6 * 512, 7 * 512);
    const gt0Sector = 128 + 5 + 1;
    const gt2Sector = 128 + 5 + 5 + 2 + 1;
    assert.deepEqual([gd.readUInt32LE(0), gd.readUInt32LE(4), gd.readUInt32LE(8)], [gt0Sector, 0, gt2Sector]);
    const footer = parseHeader(tail.subarray(8 * 512, 9 * 512));
    assert.equal(tail.readUInt32LE(7 * 512 + 12), MarkerType.Footer);
    assert.equal(footer.gdOffset, BigInt(128 + 5 + 5 + 2 + 5 + 1));
    assert.equal(footer.capacity, BigInt(capacity));
    assert.ok(tail.subarray(9 * 512).equals(Buffer.alloc(512)), 'end-of-stream marker');
    assert.equal(layout.grains, 3);
  });

  it('refuses batches that straddle two grain tables, go backwards or repeat a grain', () => {
    const layout = new StreamLayout(4 * 512 * 128);
    assert.throws(() => layout.place([511, 512], [0, 1], 2), /straddles/);
    layout.place([600], [0], 1);
    assert.throws(() => layout.place([600], [0], 1), /placed twice/);
    assert.throws(() => layout.place([5], [0], 1), /grain table 0 after table 1/);
  });
});

describe('grainBatches', () => {
  it('reads only grains touched by extents that are not zero, in aligned blocks, listing their data ranges', async () => {
    const batches = await collect(
      grainBatches(
        extents([
          { start: 0, length: 4096, offset: 327680 }, // grain 0
          { start: 4096, length: 20 * 65536, zero: true, data: false },
          { start: 3 * 65536 + 100, length: 10, depth: 1, offset: 7 }, // grain 3: same block as grain 0
          { start: 15 * 65536, length: 3 * 65536 }, // grains 15..17: crosses a block boundary
          { start: 40 * 65536, length: 65536, data: false, zero: false }, // unknown content: read
          { start: 100 * 65536, length: 65536, data: true, zero: true }, // allocated zeros: skipped
          { start: 200 * 65536, length: 100, compressed: true },
        ]),
        1000,
        16,
      ),
    );
    assert.deepEqual(batches, [
      {
        firstGrain: 0,
        count: 16,
        segments: [
          { start: 0, length: 4096, depth: 0, hostOffset: 327680 },
          { start: 3 * 65536 + 100, length: 10, depth: 1, hostOffset: 7 },
          { start: 15 * 65536, length: 65536, depth: 0 },
        ],
      },
      { firstGrain: 16, count: 2, segments: [{ start: 16 * 65536, length: 2 * 65536, depth: 0 }] },
      { firstGrain: 40, count: 1, segments: [{ start: 40 * 65536, length: 65536, depth: 0 }] },
      { firstGrain: 200, count: 1, segments: [{ start: 200 * 65536, length: 100, depth: 0, compressed: true }] },
    ]);
  });

  it('splits the host offset of an extent that crosses blocks', async () => {
    const [a, b] = await collect(grainBatches(extents([{ start: 8 * 65536, length: 16 * 65536, offset: 1000 }]), 100, 16));
    assert.deepEqual(a!.segments, [{ start: 8 * 65536, length: 8 * 65536, depth: 0, hostOffset: 1000 }]);
    assert.deepEqual(b!.segments, [{ start: 16 * 65536, length: 8 * 65536, depth: 0, hostOffset: 1000 + 8 * 65536 }]);
  });

  it('clamps to the disk size and rejects batch sizes that do not divide a grain table', async () => {
    assert.deepEqual(await collect(grainBatches(extents([{ start: 0, length: 10 * 65536 }]), 3, 16)), [
      { firstGrain: 0, count: 3, segments: [{ start: 0, length: 3 * 65536, depth: 0 }] },
    ]);
    await assert.rejects(collect(grainBatches(extents([]), 1, 24)), /does not divide/);
  });
});
