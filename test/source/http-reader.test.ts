// The HTTP range reader against a loopback server: resumed after a dropped connection, given up after the retries, a server without ranges.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openArchive, openSource } from '../../src/archive/archive.js';
import { ExitCode, TransferError, UsageError } from '../../src/errors.js';
import { openHttpSource, openHttpStream } from '../../src/source/http-source.js';
import { startHttpServer, type TestServer } from '../harness/http-server.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function drain(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe('HTTP range reader', () => {
  let work: string;
  let data: Buffer;
  let server: TestServer;
  let noRanges: TestServer;
  const fast = { retryDelayMs: 20 };

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'virt-ovf-http-reader-'));
    data = randomBytes(5 * 2 ** 20 + 123);
    await writeFile(join(work, 'blob.bin'), data);
    server = await startHttpServer({ root: work });
    noRanges = await startHttpServer({ root: work, ranges: false });
  });
  after(async () => {
    await server.close();
    await noRanges.close();
    await rm(work, { recursive: true, force: true });
  });

  test('a stream whose connection drops mid-way is resumed from the byte reached, and the bytes are exact', async () => {
    const source = await openHttpSource(server.url('blob.bin'), fast);
    assert.equal(source.kind, 'ranges');
    if (source.kind !== 'ranges') return;
    server.dropAt('blob.bin', 3 * 2 ** 20 + 7, 2);
    const from = server.requests.length;
    const got = await drain(source.reader.stream(1000, data.length - 2000));
    assert.equal(sha(got), sha(data.subarray(1000, data.length - 1000)));
    const ranges = server.requests.slice(from).map((q) => q.range);
    assert.deepEqual(ranges, [`bytes=1000-${data.length - 1001}`, `bytes=${3 * 2 ** 20 + 7}-${data.length - 1001}`, `bytes=${3 * 2 ** 20 + 7}-${data.length - 1001}`]);
  });

  test('a connection that always drops at the same byte is given up after the retries: TransferError, exit 5', async () => {
    const source = await openHttpSource(server.url('blob.bin'), fast);
    if (source.kind !== 'ranges') return assert.fail('ranges expected');
    server.dropAt('blob.bin', 2 ** 20);
    const from = server.requests.length;
    try {
      await assert.rejects(drain(source.reader.stream(0, data.length)), (err: unknown) => {
        assert.ok(err instanceof TransferError, String(err));
        assert.equal(err.exitCode, ExitCode.Conversion);
        assert.match(err.message, /blob\.bin: the connection was dropped .*\(given up after 3 retries\)/);
        return true;
      });
    } finally {
      server.dropAt('blob.bin', 0, 0);
    }
    assert.equal(server.requests.length - from, 4, 'the first request, then 3 retries from the byte reached');
  });

  test('small reads are served from read-ahead windows: one request for many headers', async () => {
    const source = await openHttpSource(server.url('blob.bin'), fast);
    if (source.kind !== 'ranges') return assert.fail('ranges expected');
    const from = server.requests.length;
    for (let at = 2 ** 20; at < 2 ** 20 + 60 * 1024; at += 512) assert.deepEqual(await source.reader.read(at, 512), data.subarray(at, at + 512));
    assert.equal(server.requests.length - from, 1);
    assert.deepEqual(await source.reader.read(data.length - 10, 512), data.subarray(data.length - 10));
  });

  test('a server that ignores Range hands the whole body over as a stream (the sequential import reads it)', async () => {
    const opened = await openSource(noRanges.url('blob.bin'));
    assert.ok('sequential' in opened);
    assert.equal(opened.sequential.sizeBytes, data.length);
    assert.equal(sha(await drain(opened.sequential.stream)), sha(data));
    assert.ok(opened.sequential.bytesTransferred() >= data.length);
    await assert.rejects(openArchive(noRanges.url('blob.bin')), (err: unknown) => err instanceof UsageError && /can only be read front to back/.test(err.message));
    const whole = await openHttpStream(server.url('blob.bin'));
    assert.equal(sha(await drain(whole.stream)), sha(data));
  });

  test('a body that drops without ranges fails the stream with TransferError (nothing to resume from)', async () => {
    noRanges.dropAt('blob.bin', 2 ** 20, 1);
    const { stream } = await openHttpStream(noRanges.url('blob.bin'));
    await assert.rejects(drain(stream), (err: unknown) => err instanceof TransferError && err.exitCode === ExitCode.Conversion);
  });

  test('a server that never answers is given up after the connect timeout: TransferError, exit 5', async () => {
    server.stall('silent.bin');
    const started = Date.now();
    await assert.rejects(openHttpSource(server.url('silent.bin'), { connectTimeoutMs: 300 }), (err: unknown) => {
      assert.ok(err instanceof TransferError, String(err));
      assert.equal(err.exitCode, ExitCode.Conversion);
      assert.match(err.message, /silent\.bin: the server did not answer in time/);
      return true;
    });
    assert.ok(Date.now() - started < 5000);
  });
});
