// The ranged-read qcow2 map against qemu-img map on images qemu made (versions 2 and 3, zero
// clusters, several L2 tables), and its refusals (backing file, compression, external data file).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parseQcow2Header, qcow2Extents, QCOW2_HEADER_READ, Qcow2Unsupported, type ReadAt } from '../../src/storage/qcow2-stream/reader.js';
import { makeImage, qemuImg, scratchDir } from './helpers.js';

const run = promisify(execFile);

/** Runs qemu-io commands on a qcow2 image. */
async function qemuIo(path: string, ...cmds: string[]): Promise<void> {
  await run('qemu-io', ['-f', 'qcow2', ...cmds.flatMap((c) => ['-c', c]), path]);
}

/** The data runs (guest start, length, file offset) of a map, adjacent ones joined. */
function dataRuns(extents: Iterable<{ start: number; length: number; data: boolean; zero: boolean; offset?: number }>): string[] {
  const runs: { start: number; length: number; offset: number }[] = [];
  for (const e of extents) {
    if (!e.data || e.zero) continue;
    const last = runs.at(-1);
    if (last && last.start + last.length === e.start && last.offset + last.length === e.offset) last.length += e.length;
    else runs.push({ start: e.start, length: e.length, offset: e.offset! });
  }
  return runs.map((r) => `${r.start}+${r.length}@${r.offset}`);
}

/** The map through the reader, with positioned reads of the local file. */
async function readerMap(path: string): Promise<{ runs: string[]; covered: number; size: number }> {
  const fh = await open(path, 'r');
  try {
    const readAt: ReadAt = async (offset, length) => {
      const b = Buffer.alloc(length);
      const { bytesRead } = await fh.read(b, 0, length, offset);
      return b.subarray(0, bytesRead);
    };
    const g = parseQcow2Header(await readAt(0, QCOW2_HEADER_READ));
    const all = [];
    let at = 0;
    for await (const e of qcow2Extents(g, readAt)) {
      assert.equal(e.start, at, 'extents are contiguous');
      at += e.length;
      all.push(e);
    }
    return { runs: dataRuns(all), covered: at, size: g.virtualSizeBytes };
  } finally {
    await fh.close();
  }
}

async function qemuMap(path: string): Promise<string[]> {
  return dataRuns(JSON.parse(await qemuImg('map', '--output=json', '-f', 'qcow2', path)) as never);
}

describe('qcow2Extents', () => {
  for (const compat of ['0.10', '1.1']) {
    it(`maps a qcow2 ${compat} image as qemu-img map does`, async () => {
      const { dir, cleanup } = await scratchDir();
      try {
        const p = await makeImage(dir, 'a.qcow2', 'qcow2', `${2 * 1024 + 3}M`, `compat=${compat}`);
        await qemuIo(p, 'write -P 0x11 0 100k', 'write -P 0x22 300k 64k', 'write -P 0x33 1000M 3M', 'write -z 1001M 64k', 'write -P 0x44 2050M 1k', 'write -P 0x55 700M 128k', 'write -P 0x66 1G 64k');
        const got = await readerMap(p);
        assert.deepEqual(got.runs, await qemuMap(p));
        assert.equal(got.covered, got.size);
        assert.ok(got.runs.length >= 5);
      } finally {
        await cleanup();
      }
    });
  }

  it('refuses a backing file, compressed clusters and an external data file, saying which', async () => {
    const { dir, cleanup } = await scratchDir();
    try {
      const base = await makeImage(dir, 'base.qcow2', 'qcow2', '8M');
      const top = await makeImage(dir, 'top.qcow2', 'qcow2', '8M', `backing_file=${base},backing_fmt=qcow2`);
      await assert.rejects(readerMap(top), (e: Error) => e instanceof Qcow2Unsupported && /backing file/.test(e.message));
      const raw = await makeImage(dir, 'r.raw', 'raw', '8M');
      await run('qemu-io', ['-f', 'raw', '-c', 'write -P 0x41 0 1M', raw]);
      await qemuImg('convert', '-c', '-f', 'raw', '-O', 'qcow2', raw, join(dir, 'c.qcow2'));
      await assert.rejects(readerMap(join(dir, 'c.qcow2')), (e: Error) => e instanceof Qcow2Unsupported && /compressed cluster/.test(e.message));
      const ext = await makeImage(dir, 'x.qcow2', 'qcow2', '8M', `data_file=${join(dir, 'x.data')}`);
      await assert.rejects(readerMap(ext), (e: Error) => e instanceof Qcow2Unsupported && /external data file/.test(e.message));
      await assert.rejects(readerMap(raw), (e: Error) => e instanceof Qcow2Unsupported && /not a qcow2 image/.test(e.message));
    } finally {
      await cleanup();
    }
  });
});
