// A URL read by HTTP range requests as a ByteReader: small reads served from read-ahead windows, streams resumed where they stopped.
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExitCode, TransferError } from '../errors.js';
import { displayUrl, type HttpSession } from './http-options.js';
import { connectionError, isTransient, send, statusError } from './http-request.js';
import { RangeStream } from './http-range-stream.js';
import type { ByteReader } from './reader.js';

/** Bytes fetched at least for a small read (tar headers, a descriptor), kept for the reads that follow. */
export const READ_AHEAD = 64 * 1024;

/** Read-ahead windows kept. */
const WINDOWS = 8;

/** A file on an HTTP server: its final URL, length in bytes, whether it serves byte ranges, its strong ETag. */
export interface HttpFile {
  readonly url: URL;
  readonly size: number;
  readonly ranges: boolean;
  readonly etag?: string;
}

/** A body opened at a position: skip `skip` bytes of it first (a server without ranges sends from 0). */
export interface OpenedRange {
  readonly body: IncomingMessage;
  readonly skip: number;
}

/** `bytes A-B/TOTAL` of a Content-Range header, or undefined when malformed. */
export function parseContentRange(value: string | undefined): { start: number; end: number; total: number } | undefined {
  const m = /^bytes\s+(\d+)-(\d+)\/(\d+)$/i.exec(value?.trim() ?? '');
  if (!m) return undefined;
  const [start, end, total] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return Number.isSafeInteger(total) && start <= end && end < total ? { start, end, total } : undefined;
}

/** The strong ETag of an answer (weak ones, `W/"…"`, do not promise identical bytes). */
export function strongEtag(value: string | undefined): string | undefined {
  return value !== undefined && !value.startsWith('W/') ? value : undefined;
}

/**
 * Random access to a file on an HTTP(S) server (ByteReader): `read` fetches at least
 * READ_AHEAD bytes and keeps the last windows, so a tar index costs a request per member or
 * less; `stream` is one range request for the whole span, resumed from where it stopped after a
 * dropped connection (RangeStream). A server without ranges is read from the start, skipping.
 * Every answer must describe the same file (total length, strong ETag); otherwise
 * TransferError "changed on the server" (exit 5).
 */
export class HttpRangeReader implements ByteReader {
  readonly name: string;
  private readonly cache: { offset: number; data: Buffer }[] = [];

  constructor(
    readonly session: HttpSession,
    readonly file: HttpFile,
    first?: { offset: number; data: Buffer },
  ) {
    this.name = displayUrl(file.url);
    if (first) this.cache.push(first);
  }

  get size(): number {
    return this.file.size;
  }

  /** Response body bytes received by every request of the session (the source's, and its neighbours'). */
  get bytesTransferred(): number {
    return this.session.bytesReceived;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const end = Math.min(offset + length, this.size);
    if (end <= offset) return Buffer.alloc(0);
    const hit = this.cache.find((w) => w.offset <= offset && w.offset + w.data.length >= end);
    if (hit) return Buffer.from(hit.data.subarray(offset - hit.offset, end - hit.offset));
    const fetchEnd = Math.min(this.size, Math.max(end, offset + READ_AHEAD));
    const data = await this.collect(offset, fetchEnd - offset);
    if (data.length <= READ_AHEAD) {
      this.cache.push({ offset, data });
      if (this.cache.length > WINDOWS) this.cache.shift();
    }
    return data.subarray(0, end - offset);
  }

  stream(offset: number, length: number): Readable {
    return new RangeStream(this, offset, Math.max(0, Math.min(length, this.size - offset)));
  }

  /** Fetches [offset, offset + length) into memory, retried from where it stopped (see `retrying`). */
  private async collect(offset: number, length: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let got = 0;
    await this.retrying(
      () => got,
      async () => {
        const { body, skip } = await this.open(offset + got, length - got);
        let skipped = 0;
        try {
          for await (const chunk of body as AsyncIterable<Buffer>) {
            this.session.bytesReceived += chunk.length;
            let piece = chunk;
            if (skipped < skip) {
              const drop = Math.min(skip - skipped, piece.length);
              skipped += drop;
              piece = piece.subarray(drop);
            }
            piece = piece.subarray(0, length - got);
            parts.push(piece);
            got += piece.length;
            if (got === length) break;
          }
        } finally {
          body.destroy();
        }
        if (got < length) throw Object.assign(new Error('the body ended early'), { code: 'ABORTED' });
      },
    );
    return Buffer.concat(parts, length);
  }

  /**
   * Runs `attempt` until it succeeds; a transient failure (isTransient) is retried up to
   * session.retries times after session.retryDelayMs, doubled each time; an attempt that made
   * progress (`progress()` grew) starts the count again.
   * @throws the last failure as TransferError (connectionError), or the signal's reason.
   */
  async retrying(progress: () => number, attempt: () => Promise<void>): Promise<void> {
    let failures = 0;
    for (;;) {
      const before = progress();
      try {
        return await attempt();
      } catch (err) {
        if (this.session.signal?.aborted) throw this.session.signal.reason;
        if (progress() > before) failures = 0;
        if (!isTransient(err) || failures >= this.session.retries) throw this.failure(err, failures);
        await sleep(this.session.retryDelayMs * 2 ** failures, undefined, this.session.signal ? { signal: this.session.signal } : {});
        failures++;
      }
    }
  }

  /** The error a read ends with: the connection's, saying how often it was retried. */
  failure(err: unknown, retried: number): TransferError {
    const e = connectionError(this.file.url, err, this.session);
    if (retried === 0 || e.exitCode !== ExitCode.Conversion) return e;
    return new TransferError(`${e.message} (given up after ${retried} retr${retried === 1 ? 'y' : 'ies'})`, { url: e.url, exitCode: e.exitCode, ...(e.status !== undefined ? { status: e.status } : {}), cause: err });
  }

  /**
   * Opens a body at `offset` for `length` bytes: a range request (206 checked against the file),
   * or, from a server without ranges, the whole body with `skip` bytes to drop.
   * @throws TransferError for another answer, or one that describes another file (changed on the server).
   */
  async open(offset: number, length: number): Promise<OpenedRange> {
    const { file, session } = this;
    const res = await send(session, file.url, { method: 'GET', ...(file.ranges ? { range: [offset, offset + length - 1] as const } : {}) });
    const changed = (why: string): TransferError => {
      res.body.destroy();
      return new TransferError(`${this.name}: the file changed on the server during the import (${why})`, { url: this.name, status: res.status, exitCode: ExitCode.Conversion });
    };
    const etag = strongEtag(res.headers.etag);
    if (file.etag !== undefined && etag !== undefined && etag !== file.etag) throw changed(`ETag ${file.etag}, now ${etag}`);
    if (res.status === 206) {
      const range = parseContentRange(res.headers['content-range']);
      if (!range || range.start !== offset) throw changed(`asked for bytes from ${offset}, got Content-Range ${res.headers['content-range'] ?? '(none)'}`);
      if (range.total !== file.size) throw changed(`${file.size} bytes, now ${range.total}`);
      return { body: res.body, skip: 0 };
    }
    if (res.status === 200) {
      const total = Number(res.headers['content-length'] ?? file.size);
      if (total !== file.size) throw changed(`${file.size} bytes, now ${total}`);
      return { body: res.body, skip: offset };
    }
    res.body.resume();
    if (res.status === 416) throw changed('the range asked for is past its end');
    throw statusError(res.url, res.status, res.body.statusMessage);
  }
}
