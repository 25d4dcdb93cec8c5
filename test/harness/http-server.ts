// A loopback HTTP or HTTPS server for the URL-source tests and the bench: serves a directory with or without Range support, with redirects, failures and dropped connections, counting the bytes it sends.
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize, sep } from 'node:path';
import { readFileSync } from 'node:fs';
import { issuedWith, selfSigned } from '../archive/pki.js';

/** A request the server saw (headers included, so a test can assert what was sent). */
export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly range?: string;
  readonly headers: IncomingMessage['headers'];
}

/** Options of {@link startHttpServer}. */
export interface ServeOptions {
  /** Directory served at `/`. */
  readonly root: string;
  /** HTTPS with a certificate for 127.0.0.1 issued by a fresh CA (its PEM: `caFile`). @default false */
  readonly tls?: boolean;
  /** Answer `Range: bytes=A-B` with 206. @default true */
  readonly ranges?: boolean;
  /** Answer 401 unless this header has exactly this value, e.g. `['authorization', 'Bearer x']`. */
  readonly requireHeader?: readonly [string, string];
}

/** A running server; `close()` stops it and removes its certificates. */
export interface TestServer {
  /** `http://127.0.0.1:PORT/` or `https://…/` plus `path` (no leading slash). */
  url(path: string): string;
  /** Body bytes sent so far, every response counted. */
  bytesServed: number;
  readonly requests: SeenRequest[];
  /** The CA that issued the server's certificate (tls only). */
  readonly caFile?: string;
  /** Answers `from` with a `status` redirect to `location` (absolute, or a path of this server). */
  redirect(from: string, location: string, status?: number): void;
  /** Answers `path` with `status` (404, 500, …). */
  fail(path: string, status: number): void;
  /** Never answers requests for `path` (the connection stays open until the client gives up). */
  stall(path: string): void;
  /** The next `times` responses for `path` that would carry file byte `offset` stop just before it (after the headers) and drop the connection. */
  dropAt(path: string, offset: number, times?: number): void;
  close(): Promise<void>;
}

/** `bytes=A-B` / `bytes=A-` of one range, or undefined. */
function parseRange(header: string | undefined, size: number): [number, number] | undefined {
  const m = /^bytes=(\d+)-(\d*)$/.exec(header ?? '');
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  return start <= end ? [start, end] : undefined;
}

/** Starts the server on 127.0.0.1, a free port. */
export async function startHttpServer(opts: ServeOptions): Promise<TestServer> {
  const redirects = new Map<string, { location: string; status: number }>();
  const failures = new Map<string, number>();
  const drops = new Map<string, { offset: number; times: number }>();
  const requests: SeenRequest[] = [];
  let pki: string | undefined;
  let caFile: string | undefined;
  const state = { bytesServed: 0 };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push({ method: req.method ?? '', path, headers: req.headers, ...(req.headers.range !== undefined ? { range: req.headers.range } : {}) });
    if (opts.requireHeader && req.headers[opts.requireHeader[0]] !== opts.requireHeader[1]) return void res.writeHead(401, { 'content-length': 0 }).end();
    const redirect = redirects.get(path);
    if (redirect) return void res.writeHead(redirect.status, { location: redirect.location, 'content-length': 0 }).end();
    const status = failures.get(path);
    if (status === 0) return;
    if (status !== undefined) return void res.writeHead(status, { 'content-length': 0 }).end();
    const file = normalize(join(opts.root, path));
    if (!file.startsWith(opts.root + sep)) return void res.writeHead(403, { 'content-length': 0 }).end();
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) return void res.writeHead(404, { 'content-length': 0 }).end();
    const size = info.size;
    const etag = `"${info.mtimeMs.toString(16)}-${size.toString(16)}"`;
    const range = opts.ranges === false ? undefined : parseRange(req.headers.range, size);
    const [start, end] = range ?? [0, size - 1];
    const headers: Record<string, string | number> = { etag, 'content-length': end - start + 1, 'content-type': 'application/octet-stream' };
    if (opts.ranges !== false) headers['accept-ranges'] = 'bytes';
    if (range) headers['content-range'] = `bytes ${start}-${end}/${size}`;
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === 'HEAD' || size === 0) return void res.end();
    const drop = drops.get(path);
    const cut = drop && drop.times > 0 && drop.offset >= start && drop.offset <= end ? drop.offset : undefined;
    if (cut !== undefined) drop!.times--;
    if (cut === start) {
      res.flushHeaders();
      res.socket?.destroy();
      return;
    }
    const body = createReadStream(file, { start, end: (cut ?? end + 1) - 1, highWaterMark: 1 << 20 });
    body.on('data', (chunk) => (state.bytesServed += chunk.length));
    body.on('end', () => {
      if (cut !== undefined) res.socket?.destroy();
    });
    body.pipe(res, { end: cut === undefined });
  };
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch(() => res.destroy());
  };

  let server: Server;
  if (opts.tls) {
    pki = await mkdtemp(join(tmpdir(), 'virt-ovf-http-pki-'));
    const ca = selfSigned(pki, 'ca', 'virt-ovf test CA');
    const leaf = issuedWith(pki, 'server', '127.0.0.1', ca, ['basicConstraints=CA:FALSE', 'keyUsage=digitalSignature,keyEncipherment', 'extendedKeyUsage=serverAuth', 'subjectAltName=IP:127.0.0.1,DNS:localhost']);
    caFile = ca.cert;
    server = createHttpsServer({ key: readFileSync(leaf.key), cert: readFileSync(leaf.cert) }, listener);
  } else {
    server = createHttpServer(listener);
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    url: (path) => base + path,
    get bytesServed() {
      return state.bytesServed;
    },
    set bytesServed(v: number) {
      state.bytesServed = v;
    },
    requests,
    ...(caFile !== undefined ? { caFile } : {}),
    redirect: (from, location, status = 302) => void redirects.set(`/${from}`, { location: /^https?:/.test(location) ? location : base + location, status }),
    fail: (path, status) => void failures.set(`/${path}`, status),
    stall: (path) => void failures.set(`/${path}`, 0),
    dropAt: (path, offset, times = Infinity) => void drops.set(`/${path}`, { offset, times }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (pki) await rm(pki, { recursive: true, force: true });
    },
  };
}
