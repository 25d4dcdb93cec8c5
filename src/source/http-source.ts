// Opening a URL source: the first request tells whether the server serves byte ranges; neighbours of an .ovf are looked up with HEAD.
import type { IncomingMessage } from 'node:http';
import { Transform, type Readable } from 'node:stream';
import { ExitCode, TransferError, UsageError } from '../errors.js';
import { displayUrl, httpSession, type HttpOptions, type HttpSession } from './http-options.js';
import { HttpRangeReader, parseContentRange, READ_AHEAD, strongEtag } from './http-reader.js';
import { connectionError, send, statusError, type HttpResponse } from './http-request.js';

/** True when `source` names a URL virt-ovf reads over HTTP (`http://` or `https://`, any case). */
export function isHttpUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

/**
 * A URL opened: random access when the server answered a range request with 206 (`ranges`,
 * with the first bytes already read), else its whole body as it arrives (`whole`: the server
 * ignores Range, so the package can only be read front to back).
 */
export type HttpSource =
  | { readonly kind: 'ranges'; readonly reader: HttpRangeReader; readonly head: Buffer; readonly url: URL; readonly session: HttpSession }
  | { readonly kind: 'whole'; readonly stream: Readable; readonly sizeBytes?: number; readonly url: URL; readonly session: HttpSession };

/** The URL parsed, or UsageError. */
function parseUrl(source: string): URL {
  try {
    return new URL(source);
  } catch {
    throw new UsageError(`${source}: not a valid URL`);
  }
}

/** Refuses a body the server encodes (gzip on the fly): byte ranges would count encoded bytes. */
function checkIdentity(res: HttpResponse): void {
  const encoding = res.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    res.body.destroy();
    const where = displayUrl(res.url);
    throw new TransferError(`${where}: the server sends the file with Content-Encoding ${encoding} though virt-ovf asked for identity; serve it as is`, { url: where, status: res.status, exitCode: ExitCode.Usage });
  }
}

/**
 * A response body as a Readable that counts its bytes into the session and fails with
 * TransferError (exit 5) when the connection drops; destroying it ends the request.
 */
export function countedBody(session: HttpSession, res: { body: IncomingMessage; url: URL }): Readable {
  const counter = new Transform({
    highWaterMark: 1024 * 1024,
    transform(chunk: Buffer, _enc, done) {
      session.bytesReceived += chunk.length;
      done(null, chunk);
    },
  });
  res.body.on('error', (err) => counter.destroy(session.signal?.aborted ? (session.signal.reason as Error) : connectionError(res.url, err, session)));
  res.body.on('close', () => {
    if (!res.body.complete && !counter.destroyed) counter.destroy(connectionError(res.url, Object.assign(new Error('dropped'), { code: 'ABORTED' }), session));
  });
  counter.on('close', () => res.body.destroy());
  return res.body.pipe(counter);
}

/** The whole (small) body of an answer, counted; undefined when the connection drops (the reader asks again). */
async function bodyBytes(session: HttpSession, body: IncomingMessage): Promise<Buffer | undefined> {
  const parts: Buffer[] = [];
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      session.bytesReceived += chunk.length;
      parts.push(chunk);
    }
  } catch {
    return undefined;
  }
  return body.complete ? Buffer.concat(parts) : undefined;
}

/**
 * Opens `url` with a first GET for bytes 0 to READ_AHEAD - 1 (redirects followed: send).
 * A 206 answer gives random access (an HttpRangeReader over the final URL, its total length
 * from Content-Range); a 200 answer means the server ignores ranges, and its body (the whole
 * file) is handed over as it arrives.
 * @throws UsageError for a URL that does not parse or holds user:password@, and for unreadable
 *   `caFile`/`headerFile` (httpSession); TransferError for any other answer (statusError), a
 *   content-encoded body, or a connection or TLS failure.
 */
export async function openHttpSource(source: string, opts: HttpOptions = {}): Promise<HttpSource> {
  const url = parseUrl(source);
  const session = httpSession(url, opts);
  const res = await send(session, url, { method: 'GET', range: [0, READ_AHEAD - 1] });
  if (res.status === 206 || res.status === 416) {
    checkIdentity(res);
    const range = res.status === 206 ? parseContentRange(res.headers['content-range']) : { start: 0, end: -1, total: Number(/\/(\d+)$/.exec(res.headers['content-range'] ?? '')?.[1] ?? 0) };
    if (!range || range.start !== 0) {
      res.body.destroy();
      const where = displayUrl(res.url);
      throw new TransferError(`${where}: the server answered a range request with a bad Content-Range (${res.headers['content-range'] ?? 'none'})`, { url: where, status: res.status, exitCode: ExitCode.Conversion });
    }
    const etag = strongEtag(res.headers.etag);
    const first = await bodyBytes(session, res.body);
    const reader = new HttpRangeReader(session, { url: res.url, size: range.total, ranges: true, ...(etag ? { etag } : {}) }, first && { offset: 0, data: first });
    const head = await reader.read(0, Math.min(READ_AHEAD, range.total));
    return { kind: 'ranges', reader, head, url: res.url, session };
  }
  if (res.status === 200) {
    checkIdentity(res);
    const length = res.headers['content-length'];
    return { kind: 'whole', stream: countedBody(session, res), url: res.url, session, ...(length !== undefined ? { sizeBytes: Number(length) } : {}) };
  }
  res.body.resume();
  throw statusError(res.url, res.status, res.body.statusMessage);
}

/**
 * The whole body of `url` as a Readable (one GET, redirects followed), for a reader that goes
 * front to back (the sequential import, import/sequential.ts). It fails with TransferError
 * (exit 5) when the connection drops: without ranges nothing can be resumed.
 * @returns the stream, the length when the server gives it, the final URL, and the session
 *   (its `bytesReceived` counts the bytes).
 * @throws as openHttpSource.
 */
export async function openHttpStream(source: string, opts: HttpOptions = {}): Promise<{ stream: Readable; sizeBytes?: number; url: URL; session: HttpSession }> {
  const url = parseUrl(source);
  const session = httpSession(url, opts);
  const res = await send(session, url, { method: 'GET' });
  if (res.status !== 200) {
    res.body.resume();
    throw statusError(res.url, res.status, res.body.statusMessage);
  }
  checkIdentity(res);
  const length = res.headers['content-length'];
  return { stream: countedBody(session, res), url: res.url, session, ...(length !== undefined ? { sizeBytes: Number(length) } : {}) };
}

/**
 * Looks a file up without reading it: HEAD (a server that refuses HEAD, 405 or 501, is asked
 * for byte 0 instead). Used for the files beside an .ovf.
 * @returns the file (final URL, length, range support, ETag), or undefined for 404 and 410.
 * @throws TransferError for another failing answer, a length the server does not give, or a
 *   connection failure.
 */
export async function statHttpFile(session: HttpSession, url: URL): Promise<HttpRangeReader | undefined> {
  let res = await send(session, url, { method: 'HEAD' });
  res.body.resume();
  if (res.status === 405 || res.status === 501) {
    res = await send(session, url, { method: 'GET', range: [0, 0] });
    res.body.destroy();
  }
  if (res.status === 404 || res.status === 410) return undefined;
  if (res.status !== 200 && res.status !== 206) throw statusError(res.url, res.status, res.body.statusMessage);
  checkIdentity(res);
  const size = res.status === 206 ? parseContentRange(res.headers['content-range'])?.total : Number(res.headers['content-length']);
  if (size === undefined || !Number.isSafeInteger(size) || size < 0) {
    const where = displayUrl(res.url);
    throw new TransferError(`${where}: the server does not give the file's length (Content-Length)`, { url: where, status: res.status, exitCode: ExitCode.Conversion });
  }
  const etag = strongEtag(res.headers.etag);
  const ranges = res.status === 206 || /\bbytes\b/i.test(String(res.headers['accept-ranges'] ?? ''));
  return new HttpRangeReader(session, { url: res.url, size, ranges, ...(etag ? { etag } : {}) });
}
