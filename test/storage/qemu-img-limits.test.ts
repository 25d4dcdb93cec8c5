// qemu-img under limits (prlimit CPU/address space, wall clock), and the -f / json: invariants of every invocation (issue 4, cases 3-4).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { ToolError } from '../../src/errors.js';
import { checkImage } from '../../src/storage/image-check.js';
import { findPrlimit, infoLimits, limitedCommand, TIMEOUT_ENV } from '../../src/storage/process-limits.js';
import { convertImage, createImage, imageInfo, type ImageSource } from '../../src/storage/qemu-img.js';
import { alignTo512, embed, makeImage, scratchDir, sourceOf } from './helpers.js';
import { logQemuImg } from './qemu-img-log.js';

const FORMATS = ['vmdk', 'qcow2', 'raw', 'vpc', 'vhdx', 'vdi'];

/** The pid of a running process whose command line contains `needle` and starts with qemu-img, if any. */
function findProcess(needle: string): number | undefined {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (argv[0]?.endsWith('qemu-img') && argv.some((a) => a.includes(needle))) return Number(pid);
    } catch {
      // the process went away
    }
  }
  return undefined;
}

describe('qemu-img under limits', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let fifo: ImageSource;

  before(async () => {
    ({ dir, cleanup } = await scratchDir());
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    fifo = { path: join(dir, 'fifo'), offset: 0, size: 512, format: 'raw', label: '"fifo"' };
  });
  after(() => cleanup());

  it('has prlimit (util-linux) on this host, and limits info to 30 s CPU, 1 GiB address space, 60 s', () => {
    assert.ok(findPrlimit(), 'prlimit is installed');
    assert.deepEqual(infoLimits(), { cpuSeconds: 30, addressSpaceBytes: 2 ** 30, timeoutMs: 60_000 });
    const cmd = limitedCommand('qemu-img', ['info', '-f', 'raw', 'x'], infoLimits());
    assert.deepEqual(cmd.args, ['--cpu=30:35', '--as=1073741824', '--', 'qemu-img', 'info', '-f', 'raw', 'x']);
  });

  it('kills a qemu-img info that hangs (on a FIFO) after the wall-clock limit, running under the CPU and address-space limits meanwhile', async () => {
    const started = Date.now();
    const pending = imageInfo(fifo, { limits: { timeoutMs: 3000 } }).then(
      () => assert.fail('qemu-img info on a FIFO cannot succeed'),
      (e: unknown) => e,
    );
    let limits = '';
    while (!limits && Date.now() - started < 2500) {
      const pid = findProcess(fifo.path);
      if (pid !== undefined) limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
      else await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(limits, /^Max cpu time\s+30\s+35\s+seconds/m);
    assert.match(limits, /^Max address space\s+1073741824\s+1073741824\s+bytes/m);
    const err = await pending;
    assert.ok(err instanceof ToolError);
    assert.equal(err.exitCode, 5);
    assert.match(err.message, /^qemu-img info on "fifo" timed out after 3000 ms and was killed/);
    assert.ok(Date.now() - started < 9000, 'killed within the limit (plus the SIGKILL grace)');
    assert.equal(findProcess(fifo.path), undefined, 'no qemu-img left behind');
  });

  it(`takes the wall-clock limit from $${TIMEOUT_ENV}`, async () => {
    const saved = process.env[TIMEOUT_ENV];
    process.env[TIMEOUT_ENV] = '700';
    try {
      await assert.rejects(imageInfo(fifo), (e: unknown) => e instanceof ToolError && /timed out after 700 ms and was killed/.test(e.message));
    } finally {
      if (saved === undefined) delete process.env[TIMEOUT_ENV];
      else process.env[TIMEOUT_ENV] = saved;
    }
  });

  it('reports a qemu-img that dies under its address-space limit', async () => {
    const qcow2 = await sourceOf(await alignTo512(await makeImage(dir, 'small.qcow2', 'qcow2', '1M')), 'qcow2');
    await assert.rejects(imageInfo(qcow2, { limits: { addressSpaceBytes: 32 * 2 ** 20 } }), (e: unknown) => {
      assert.ok(e instanceof ToolError);
      assert.match(e.message, /^qemu-img info on "small\.qcow2" died of SIG[A-Z]+ \(it runs with a CPU-time limit of 30 s and an address-space limit of 33554432 bytes \(32\.0 MiB\)\)/);
      return true;
    });
    assert.equal((await imageInfo(qcow2)).virtualSizeBytes, 2 ** 20, 'the default limits leave room for a real image');
  });

  it('the CPU-time limit kills a spinning process with SIGXCPU', async () => {
    const cmd = limitedCommand('sh', ['-c', 'while :; do :; done'], { cpuSeconds: 1, addressSpaceBytes: 2 ** 30, timeoutMs: 20_000 });
    const started = Date.now();
    const result = await execa(cmd.file, cmd.args, { reject: false, timeout: 20_000 });
    assert.equal(result.signal, 'SIGXCPU');
    assert.ok(Date.now() - started < 10_000);
  });

  it('every qemu-img invocation carries -f with a known format, and json: filenames hold only path, offset and size', async () => {
    const images: ImageSource[] = [
      await sourceOf(await makeImage(dir, 'a.vmdk', 'vmdk', '4M', 'subformat=monolithicSparse'), 'vmdk'),
      await embed(await makeImage(dir, 'b.vmdk', 'vmdk', '4M', 'subformat=streamOptimized'), dir, 'b.ova', 'vmdk'),
      await sourceOf(await alignTo512(await makeImage(dir, 'c.qcow2', 'qcow2', '4M')), 'qcow2'),
      await sourceOf(await makeImage(dir, 'd.raw', 'raw', '4M'), 'raw'),
      await sourceOf(await makeImage(dir, 'e.vhd', 'vpc', '4M'), 'vpc'),
      await sourceOf(await makeImage(dir, 'f.vhdx', 'vhdx', '4M'), 'vhdx'),
      await sourceOf(await makeImage(dir, 'g.vdi', 'vdi', '4M'), 'vdi'),
    ];
    const log = logQemuImg();
    const first = log.mark();
    for (const [i, src] of images.entries()) {
      const checked = await checkImage(src, { declaredFormat: src.format, capacityBytes: 4 * 2 ** 20 });
      const info = await imageInfo(src);
      assert.equal(info.format, src.format);
      if (src.format !== 'vpc') assert.equal(info.virtualSizeBytes, checked.virtualSizeBytes, `${src.format}: header and qemu-img agree`);
      const targetFormat = i % 2 === 0 ? 'qcow2' : 'raw';
      const target = join(dir, `out-${i}.${targetFormat}`);
      await createImage(target, targetFormat, info.virtualSizeBytes);
      await convertImage({ src, target, targetFormat, existingTarget: true });
    }
    const ran = log.since(first);
    assert.equal(ran.length, images.length * 3);
    const paths = new Set(images.map((s) => s.path));
    for (const argv of ran) {
      const f = argv.indexOf('-f');
      assert.ok(f > 0 && FORMATS.includes(argv[f + 1]!), `-f FORMAT in ${argv.join(' ')}`);
      for (const arg of argv.filter((a) => a.startsWith('json:'))) {
        const spec = JSON.parse(arg.slice(5)) as Record<string, unknown>;
        assert.deepEqual(Object.keys(spec).sort(), ['backing', 'file']);
        assert.equal(spec['backing'], null);
        const raw = spec['file'] as Record<string, unknown>;
        assert.deepEqual(Object.keys(raw).sort(), ['driver', 'file', 'offset', 'size']);
        assert.equal(raw['driver'], 'raw');
        assert.ok(Number.isSafeInteger(raw['offset']) && Number.isSafeInteger(raw['size']));
        assert.deepEqual(Object.keys(raw['file'] as object).sort(), ['driver', 'filename']);
        const file = raw['file'] as { driver: string; filename: string };
        assert.equal(file.driver, 'file');
        assert.ok(paths.has(file.filename), `json: names only a known path: ${file.filename}`);
      }
      if (argv[0] === 'convert') assert.ok(['qcow2', 'raw'].includes(argv[argv.indexOf('-O') + 1]!));
    }
    assert.equal(ran.filter((a) => a[0] === 'info').length, images.length);
  });
});
