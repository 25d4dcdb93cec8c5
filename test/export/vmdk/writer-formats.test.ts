// writeStreamOptimized on non-raw sources (read through qemu-nbd): qcow2 with and without a
// backing file, VMDK, VHD (vpc); cancellation and failures leave no process or socket behind.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, open, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { ToolError } from '../../../src/errors.js';
import { writeStreamOptimized } from '../../../src/export/vmdk/index.js';
import { logQemuImg } from '../../storage/qemu-img-log.js';
import { KiB, makeRaw, MiB, noise, qemuImg, scratchDir, text, walkStream, writeVmdk } from './helpers.js';
import { measureTemp } from './temp-usage.js';
import { adapterOf } from './helpers.js';

const run = promisify(execFile);

/** Socket directories of qemu-nbd readers left in the temporary directory (private to this file: see before()). */
async function nbdLeftovers(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((n) => n.startsWith('virt-ovf-nbd-'));
}

/** qemu-nbd processes serving a file under `dir`. */
async function nbdProcesses(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const pid of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(pid)) continue;
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmd.startsWith('qemu-nbd') && cmd.includes(dir)) pids.push(Number(pid));
  }
  return pids;
}

describe('writeStreamOptimized from qcow2, vmdk and vpc through qemu-nbd', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let raw: string;
  const size = 7 * MiB + 5 * 512;

  const savedTmpdir = process.env['TMPDIR'];
  before(async () => {
    ({ dir, cleanup } = await scratchDir());
    // os.tmpdir() follows $TMPDIR: the readers' socket directories land in this test's own
    // directory, out of reach of other test runs sharing /tmp.
    process.env['TMPDIR'] = join(dir, 'tmp');
    await mkdir(process.env['TMPDIR']);
    raw = await makeRaw(join(dir, 'src.raw'), size, [
      { at: 0, bytes: text(300 * KiB) },
      { at: 2 * MiB, bytes: Buffer.alloc(256 * KiB) },
      { at: 3 * MiB + 4096, bytes: noise(700 * KiB) },
      { at: size - 512, bytes: Buffer.from('the very last sector') },
    ]);
  });
  after(async () => {
    if (savedTmpdir === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = savedTmpdir;
    await cleanup();
  });

  for (const format of ['qcow2', 'vmdk', 'vpc'] as const) {
    it(`writes a ${format} source identical to its guest bytes`, async () => {
      const src = join(dir, `src.${format}`);
      await qemuImg('convert', '-f', 'raw', '-O', format, ...(format === 'vpc' ? ['-o', 'force_size=on'] : []), raw, src);
      const out = join(dir, `from-${format}.vmdk`);
      const qemu = logQemuImg();
      const mark = qemu.mark();
      const temp = await measureTemp(() => writeVmdk({ path: src, format }, out, { fileName: 'disk1.vmdk', adapter: adapterOf('ide') }));
      const result = temp.result;
      const calls = qemu.since(mark);
      assert.equal(result.readMethod, format === 'qcow2' ? 'qcow2 file' : 'qemu-nbd', 'qcow2 clusters are read in place, other formats through qemu-nbd');
      assert.equal(temp.peakBytes, 0, 'no temporary file is written');
      assert.deepEqual(temp.created.filter((n) => !n.startsWith('virt-ovf-nbd-')), [], 'only qemu-nbd socket directories appear in TMPDIR');
      assert.deepEqual(temp.left, [], 'TMPDIR is left empty');
      assert.deepEqual(await qemuImg('compare', '-f', format, '-F', 'vmdk', src, out), { stdout: 'Images are identical.\n', code: 0 });
      assert.deepEqual(await qemuImg('compare', '-f', 'raw', '-F', 'vmdk', raw, out), { stdout: 'Images are identical.\n', code: 0 });
      assert.match((await qemuImg('check', '-f', 'vmdk', out)).stdout, /No errors were found/);
      const info = JSON.parse((await qemuImg('info', '--output=json', '-f', 'vmdk', out)).stdout) as { 'virtual-size': number; 'format-specific': { data: { 'create-type': string } } };
      assert.equal(info['format-specific'].data['create-type'], 'streamOptimized');
      assert.equal(info['virtual-size'], result.virtualSizeBytes);
      const walk = await walkStream(out);
      assert.match(walk.descriptor, /^RW \d+ SPARSE "disk1.vmdk"$/m);
      assert.match(walk.descriptor, /^ddb.adapterType = "ide"$/m);
      assert.match(walk.descriptor, /^ddb.geometry.heads = "16"$/m);
      assert.equal(walk.grains.size, result.grainsWritten);
      for (const args of calls) assert.ok(args.includes('-f'), `qemu-img ${args.join(' ')} carries -f`);
      assert.deepEqual(await nbdLeftovers(), []);
      assert.deepEqual(await nbdProcesses(dir), []);
    });
  }

  it('reads a qcow2 overlay through its backing chain', async () => {
    const base = join(dir, 'base.qcow2');
    await qemuImg('convert', '-f', 'raw', '-O', 'qcow2', raw, base);
    const overlay = join(dir, 'overlay.qcow2');
    await qemuImg('create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', overlay);
    await run('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x5a 1M 64k', '-c', 'write -z 0 64k', overlay]);
    const expected = await makeRaw(join(dir, 'expected.raw'), size, []);
    await copyFile(raw, expected);
    const fh = await open(expected, 'r+');
    await fh.write(Buffer.alloc(64 * KiB, 0x5a), 0, 64 * KiB, 1 * MiB);
    await fh.write(Buffer.alloc(64 * KiB), 0, 64 * KiB, 0);
    await fh.close();
    const out = join(dir, 'overlay.vmdk');
    const result = await writeVmdk({ path: overlay, format: 'qcow2' }, out);
    assert.deepEqual(result.readMethod.split(' + ').sort(), ['qcow2 file', 'qemu-nbd'], 'the overlay in place, the backing file through qemu-nbd');
    assert.deepEqual(await qemuImg('compare', '-f', 'qcow2', '-F', 'vmdk', overlay, out), { stdout: 'Images are identical.\n', code: 0 });
    assert.deepEqual(await qemuImg('compare', '-f', 'raw', '-F', 'vmdk', expected, out), { stdout: 'Images are identical.\n', code: 0 });
    assert.ok(!(await walkStream(out)).grains.has(0), 'the grain zeroed in the overlay is not written');
  });

  it('reads compressed qcow2 clusters and external data files through qemu-nbd, the rest in place', async () => {
    const compressed = join(dir, 'compressed.qcow2');
    await qemuImg('convert', '-c', '-f', 'raw', '-O', 'qcow2', raw, compressed);
    const out = join(dir, 'compressed.vmdk');
    const result = await writeVmdk({ path: compressed, format: 'qcow2' }, out);
    // qemu stores the clusters that do not compress (the noise) uncompressed
    assert.deepEqual(result.readMethod.split(' + ').sort(), ['qcow2 file', 'qemu-nbd']);
    assert.deepEqual(await qemuImg('compare', '-f', 'raw', '-F', 'vmdk', raw, out), { stdout: 'Images are identical.\n', code: 0 });

    const withDataFile = join(dir, 'external.qcow2');
    await qemuImg('create', '-q', '-f', 'qcow2', '-o', `data_file=${join(dir, 'external.data')}`, withDataFile, String(size));
    await qemuImg('convert', '-n', '-f', 'raw', '-O', 'qcow2', raw, withDataFile);
    const result2 = await writeVmdk({ path: withDataFile, format: 'qcow2' }, out);
    assert.equal(result2.readMethod, 'qemu-nbd', 'offsets of an external data file are not offsets in the image');
    assert.deepEqual(await qemuImg('compare', '-f', 'raw', '-F', 'vmdk', raw, out), { stdout: 'Images are identical.\n', code: 0 });
    assert.deepEqual(await nbdLeftovers(), []);
  });

  it('stops on abort, rejects with the reason and leaves no qemu-nbd or socket behind', async () => {
    const big = await makeRaw(join(dir, 'big.raw'), 48 * MiB, [{ at: 0, bytes: noise(48 * MiB, 9) }]);
    const src = join(dir, 'big.vmdk');
    await qemuImg('convert', '-f', 'raw', '-O', 'vmdk', big, src);
    const ac = new AbortController();
    const reason = new Error('stop now');
    let writesAfterAbort = 0;
    await assert.rejects(
      writeStreamOptimized({
        source: { path: src, format: 'vmdk' },
        adapter: adapterOf('lsilogic'),
        signal: ac.signal,
        write: async () => {
          if (ac.signal.aborted) writesAfterAbort++;
        },
        onProgress: (done) => {
          if (done >= 4 * MiB) ac.abort(reason);
        },
      }),
      (err) => err === reason,
    );
    assert.equal(writesAfterAbort, 0, 'nothing is written once aborted');
    assert.deepEqual(await nbdLeftovers(), []);
    assert.deepEqual(await nbdProcesses(dir), []);
    const pre = new AbortController();
    pre.abort(reason);
    await assert.rejects(writeVmdk({ path: src, format: 'vmdk' }, join(dir, 'never.vmdk'), { signal: pre.signal }), (err) => err === reason);
  });

  it('fails with a ToolError when qemu cannot open the source as the declared format', async () => {
    await assert.rejects(writeVmdk({ path: raw, format: 'qcow2' }, join(dir, 'bad.vmdk')), (err) => {
      assert.ok(err instanceof ToolError);
      assert.match(err.message, /src\.raw: Image is not in qcow2 format/);
      return true;
    });
    await assert.rejects(writeVmdk({ path: join(dir, 'missing.qcow2'), format: 'qcow2' }, join(dir, 'bad.vmdk')), ToolError);
    await assert.rejects(writeVmdk({ path: raw, format: 'vdi' }, join(dir, 'bad.vmdk')), ToolError);
    await assert.rejects(writeVmdk({ path: join(dir, 'missing.raw'), format: 'raw' }, join(dir, 'bad.vmdk')), /ENOENT/);
    assert.deepEqual(await nbdLeftovers(), []);
    assert.deepEqual(await nbdProcesses(dir), []);
  });
});
