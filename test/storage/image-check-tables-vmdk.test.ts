// Grain directories and grain tables of sparse VMDKs with data (qemu-img convert, and the export
// writer for a stream with its footer at the end), corrupted byte-wise: checkImage refuses each
// before qemu-img runs, where the system qemu-img would have read zeros and exited 0 (issue 9, item 8).

import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { writeVmdk } from '../export/vmdk/helpers.js';
import { assertRefused, editVmdkDescriptor, embed, patch, readAt, sourceOf, u64le } from './helpers.js';
import { assertAccepted, assertQemuWouldAccept, convertTo, corrupt, DISK_BYTES, le32, qemuConverts, suiteImages, vmdkGrain, vmdkLayout } from './tables-helpers.js';

const FAR = 0x7fffff00; // a sector far beyond every fixture
const KINDS = ['sparse', 'stream', 'footer'] as const;
type Kind = (typeof KINDS)[number];

describe('checkImage bounds-checks VMDK grain directories and grain tables', () => {
  const suite = suiteImages(async (raw, dir): Promise<Record<Kind, string>> => {
    const footer = join(dir, 'footer.vmdk');
    await writeVmdk({ path: raw, format: 'raw' }, footer, { fileName: 'footer.vmdk', threads: 1 });
    return {
      sparse: await convertTo(raw, dir, 'sparse.vmdk', 'vmdk', 'subformat=monolithicSparse'),
      stream: await convertTo(raw, dir, 'stream.vmdk', 'vmdk', 'subformat=streamOptimized'),
      footer,
    };
  });

  const layout = async (kind: Kind) => vmdkLayout(suite.images[kind], (await stat(suite.images[kind])).size);
  const refuse = async (path: string, pattern: RegExp) => assertRefused(await sourceOf(path, 'vmdk'), pattern);

  it('accepts monolithicSparse, streamOptimized and footer streams with data, alone and inside a larger file', async () => {
    assert.equal((await readAt(suite.images.footer, 56, 8)).readBigUInt64LE(), 0xffffffffffffffffn, 'the export writer puts the grain directory at the end');
    for (const kind of KINDS) await assertAccepted(suite, kind, 'vmdk');
  });

  it('refuses a grain directory entry beyond the end of the image, which qemu-img reads as an empty grain table', async () => {
    for (const kind of KINDS) {
      const l = await layout(kind);
      const bad = await corrupt(suite.images[kind], suite.dir, `${kind}-gde.vmdk`, [[l.gdSector * 512 + 4, le32(FAR)]]);
      await refuse(bad, /: grain directory entry 1 points to sector 2147483392, beyond the end of the image \(\d+ sectors\); refused before qemu-img/);
      await assertQemuWouldAccept(bad, 'vmdk', suite.raw, { same: false });
    }
  });

  it('refuses a grain table entry beyond the end of the image (qemu-img reads an uncompressed grain there as zeros)', async () => {
    for (const kind of KINDS) {
      const l = await layout(kind);
      const grain = await vmdkGrain(suite.images[kind], l, 1);
      const bad = await corrupt(suite.images[kind], suite.dir, `${kind}-gte.vmdk`, [[grain.at, le32(FAR)]]);
      await refuse(bad, new RegExp(`: grain table 1 entry ${grain.entry} points to sector 2147483392, beyond the end of the image \\(\\d+ sectors\\)`));
      if (kind === 'sparse') await assertQemuWouldAccept(bad, 'vmdk', suite.raw, { same: false });
      else assert.notEqual((await qemuConverts(bad, 'vmdk', suite.raw)).code, 0, 'a compressed grain read as zeros has no marker: qemu-img fails by itself');
    }
  });

  it('refuses a grain pointer into the bytes after an OVA member, inside the file that holds it', async () => {
    const inner = await embed(suite.images.sparse, suite.dir, 'member.bin', 'vmdk', 1536, 2 ** 20);
    const l = await layout('sparse');
    const grain = await vmdkGrain(suite.images.sparse, l, 0);
    const next = inner.size / 512 + 8; // a sector of the following member
    await patch(inner.path, inner.offset + grain.at, le32(next));
    await assertRefused(inner, new RegExp(`grain table 0 entry ${grain.entry} points to sector ${next}, beyond the end of the image \\(${inner.size / 512} sectors\\)`));
  });

  it('refuses a truncated image whose last grains are cut off (qemu-img reads uncompressed ones as zeros)', async () => {
    for (const kind of ['sparse', 'stream'] as const) {
      const grain = await vmdkGrain(suite.images[kind], await layout(kind), 1);
      const bad = await corrupt(suite.images[kind], suite.dir, `${kind}-cut.vmdk`, [], grain.sector * 512);
      await refuse(bad, new RegExp(`: grain table 1 entry ${grain.entry} points to sector ${grain.sector}, beyond the end of the image \\(${grain.sector} sectors\\)`));
      if (kind === 'sparse') await assertQemuWouldAccept(bad, 'vmdk', suite.raw, { same: false });
      else assert.notEqual((await qemuConverts(bad, 'vmdk', suite.raw)).code, 0, 'a compressed grain read as zeros has no marker: qemu-img fails by itself');
    }
    const cut = await corrupt(suite.images.footer, suite.dir, 'footer-cut.vmdk', [], (await stat(suite.images.footer)).size - 512);
    await refuse(cut, /stream VMDK whose header puts the grain directory at the end \(gdOffset GD_AT_END\) but sector \d+ is not a footer marker/);
  });

  it('refuses a grain directory, or a redundant one, that lies beyond the end of the image', async () => {
    const gd = await corrupt(suite.images.sparse, suite.dir, 'gd-far.vmdk', [[56, u64le(BigInt(FAR))]]);
    await refuse(gd, /: its grain directory \(sector 2147483392, 2 entries\) runs past the end of the image \(\d+ sectors\)/);
    await assertQemuWouldAccept(gd, 'vmdk', suite.raw, { same: false });
    const rgd = await corrupt(suite.images.sparse, suite.dir, 'rgd-far.vmdk', [[48, u64le(BigInt(FAR))]]);
    await refuse(rgd, /: its redundant grain directory \(sector 2147483392, 2 entries\) runs past the end/);
    await assertQemuWouldAccept(rgd, 'vmdk', suite.raw, { same: true });
    const rgdOffset = Number((await readAt(suite.images.sparse, 48, 8)).readBigUInt64LE());
    const entry = await corrupt(suite.images.sparse, suite.dir, 'rgde-far.vmdk', [[rgdOffset * 512 + 4, le32(FAR)]]);
    await refuse(entry, /: redundant grain directory entry 1 points to sector 2147483392, beyond the end/);
  });

  it('reads a footer stream through its footer: the grain directory it names, its capacity, its markers', async () => {
    const size = (await stat(suite.images.footer)).size;
    const l = await layout('footer');
    assert.equal(l.headerAt, size - 1024);
    const gd = await corrupt(suite.images.footer, suite.dir, 'footer-gd.vmdk', [[l.headerAt + 56, u64le(BigInt(FAR))]]);
    await refuse(gd, /: its grain directory \(sector 2147483392, 2 entries\) runs past the end of the image/);
    await assertQemuWouldAccept(gd, 'vmdk', suite.raw, { same: false });
    const small = await corrupt(suite.images.footer, suite.dir, 'footer-capacity.vmdk', [[l.headerAt + 12, u64le(BigInt(DISK_BYTES / 1024))]]);
    await refuse(small, /: has a VMDK footer whose capacity \(49152 sectors\) differs from its header's \(98304 sectors\)/);
    await assertQemuWouldAccept(small, 'vmdk', suite.raw, { same: false });
    const noGdMarker = await corrupt(suite.images.footer, suite.dir, 'footer-gd-marker.vmdk', [[(l.gdSector - 1) * 512 + 12, le32(1)]]);
    await refuse(noGdMarker, new RegExp(`: has no grain directory marker in the sector before its grain directory \\(sector ${l.gdSector}, 2 entries\\)`));
    const noEos = await corrupt(suite.images.footer, suite.dir, 'footer-eos.vmdk', [[size - 512 + 12, le32(3)]]);
    await refuse(noEos, /but its last sector is not an end-of-stream marker/);
  });

  it('refuses compressed grain markers that claim bytes beyond the end, or none', async () => {
    for (const kind of ['stream', 'footer'] as const) {
      const grain = await vmdkGrain(suite.images[kind], await layout(kind), 1, true);
      const size = (await stat(suite.images[kind])).size;
      const past = await corrupt(suite.images[kind], suite.dir, `${kind}-marker-past.vmdk`, [[grain.sector * 512 + 8, le32(size - grain.sector * 512)]]);
      await refuse(past, new RegExp(`: grain table 1 entry ${grain.entry} points to a compressed grain \\(sector ${grain.sector}, ${size - grain.sector * 512 + 12} bytes with its marker\\) that runs past the end`));
      const empty = await corrupt(suite.images[kind], suite.dir, `${kind}-marker-empty.vmdk`, [[grain.sector * 512 + 8, le32(0)]]);
      await refuse(empty, new RegExp(`: grain table 1 entry ${grain.entry} points to sector ${grain.sector}, which holds no compressed grain`));
    }
  });

  it('refuses absurd geometry: numGTEsPerGT above 512, grainSize 0, a grain directory above 32 Mi entries', async () => {
    await refuse(await corrupt(suite.images.sparse, suite.dir, 'gtes.vmdk', [[44, le32(1024)]]), /: has a VMDK numGTEsPerGT of 1024 \(qemu reads 1 to 512\)/);
    await refuse(await corrupt(suite.images.sparse, suite.dir, 'grain0.vmdk', [[20, u64le(0n)]]), /: has a VMDK grainSize of 0 sectors/);
    const huge = await corrupt(suite.images.sparse, suite.dir, 'huge-gd.vmdk', [[12, u64le(2n ** 40n)], [20, u64le(1n)]]);
    await editVmdkDescriptor(huge, (t) => t.replace(/^RW \d+ SPARSE/m, `RW ${2 ** 40} SPARSE`));
    await refuse(huge, /: has a VMDK grain directory of 2147483648 entries, above qemu's limit of 33554432/);
  });
});
