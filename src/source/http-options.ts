// How virt-ovf talks HTTP(S) for one source: trusted CAs, the request headers from a file or the environment, timeouts, retries.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import { UsageError } from '../errors.js';

/** The environment variable holding request headers (`Name: value`, one per line), e.g. an Authorization header. */
export const HTTP_HEADER_ENV = 'VIRT_OVF_HTTP_HEADER';

/** The Debian/Ubuntu system CA bundle (update-ca-certificates); `$SSL_CERT_FILE` replaces it. */
const SYSTEM_CA_FILE = '/etc/ssl/certs/ca-certificates.crt';

/** Headers virt-ovf sets itself or that would change how the body is framed; a header file may not set them. */
const RESERVED = new Set(['host', 'range', 'if-range', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'te', 'trailer', 'upgrade', 'accept-encoding', 'expect', 'proxy-connection']);

/** A header name (RFC 9110 5.1: a token). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Options of a URL source (library: `httpCaFile`, `httpHeaderFile` of PackageOptions; the rest for tests and embedders). Times in milliseconds. */
export interface HttpOptions {
  /** PEM file of CA certificates trusted for https:// servers; replaces the system store (`--http-ca`). */
  readonly caFile?: string;
  /**
   * PEM file of CA certificates trusted besides the system store when `caFile` is absent: the
   * package signature's CAs (`--ca`), so one private CA given once serves the server and the signature.
   */
  readonly extraCaFile?: string;
  /** File of request headers, one `Name: value` per line, e.g. `Authorization: Bearer …` (`--http-header-file`). Blank lines and `#` comments are skipped. */
  readonly headerFile?: string;
  /** Environment read for {@link HTTP_HEADER_ENV}. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Time to get the answer's headers (connection, TLS, server). @default 30000 */
  readonly connectTimeoutMs?: number;
  /** Longest silence while a body is read. @default 60000 */
  readonly readTimeoutMs?: number;
  /** Attempts after a failure before a read is given up (a failure that made progress starts the count again). @default 3 */
  readonly retries?: number;
  /** Wait before the first retry, doubled for each further one. @default 500 */
  readonly retryDelayMs?: number;
  /** Aborts every request in flight. */
  readonly signal?: AbortSignal;
}

/** What every request of one source shares. */
export interface HttpSession {
  /** PEM certificates trusted for TLS. */
  readonly ca: string;
  /** Where trust comes from, for messages. */
  readonly caSource: string;
  /** Headers sent to the origin of the URL named only (never after a redirect to another origin). */
  readonly headers: readonly (readonly [string, string])[];
  /** The origin (`https://host:port`) the headers go to. */
  readonly origin: string;
  readonly connectTimeoutMs: number;
  readonly readTimeoutMs: number;
  readonly retries: number;
  readonly retryDelayMs: number;
  readonly signal: AbortSignal | undefined;
  readonly agents: { readonly http: HttpAgent; readonly https: HttpsAgent };
  /** Response body bytes received, for every request of the session. */
  bytesReceived: number;
}

/** The system store: Node's bundled roots plus the system bundle when readable. */
function systemCa(env: NodeJS.ProcessEnv): { pem: string; source: string } {
  const file = env['SSL_CERT_FILE'] ?? SYSTEM_CA_FILE;
  try {
    return { pem: [...rootCertificates, readFileSync(file, 'utf8')].join('\n'), source: `the system CA store (${file} and Node.js bundled roots)` };
  } catch {
    return { pem: rootCertificates.join('\n'), source: 'the system CA store (Node.js bundled roots)' };
  }
}

/** The system store plus the CAs of `extraCaFile` (the signature's --ca), when given. @throws as readCa. */
function withExtraCa(system: { pem: string; source: string }, extraCaFile: string | undefined): { pem: string; source: string } {
  if (extraCaFile === undefined) return system;
  return { pem: `${system.pem}\n${readCa(extraCaFile, 'caFile')}`, source: `${system.source} and --ca ${extraCaFile}` };
}

/**
 * Reads a PEM bundle for TLS.
 * @throws UsageError (`option`: httpCaFile, or caFile for the signature's CAs) when it cannot be read or holds no valid certificate.
 */
function readCa(path: string, option = 'httpCaFile'): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new UsageError(`HTTPS CA file ${path}: cannot read: ${(cause as Error).message}`, { option, cause });
  }
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----/g) ?? [];
  const valid = blocks.filter((pem) => {
    try {
      return new X509Certificate(pem) !== undefined;
    } catch {
      return false;
    }
  });
  if (valid.length === 0 || valid.length !== blocks.length) {
    throw new UsageError(`HTTPS CA file ${path}: ${blocks.length === 0 ? 'no PEM certificate (-----BEGIN CERTIFICATE-----) in the file' : `${blocks.length - valid.length} PEM block(s) are not valid X.509 certificates`}`, { option });
  }
  return valid.join('\n');
}

/**
 * Parses `Name: value` lines. Values are never put in a message (they hold credentials).
 * @param where `FILE` or the variable's name, for messages; `option` the library option to name.
 * @throws UsageError for a line that is not `Name: value`, a name that is not a token, a value
 *   with a control character, or a header virt-ovf sets itself (Host, Range, …).
 */
export function parseHeaderLines(text: string, where: string, option?: string): [string, string][] {
  const out: [string, string][] = [];
  for (const [i, line] of text.split(/\r?\n/).entries()) {
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim() : '';
    const value = colon > 0 ? line.slice(colon + 1).trim() : '';
    const bad = (why: string): UsageError => new UsageError(`${where} line ${i + 1}: ${why}`, option !== undefined ? { option } : {});
    if (!TOKEN.test(name)) throw bad('expected "Name: value" with a header name made of letters, digits and -');
    if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(value)) throw bad(`the value of ${name} holds a control character`);
    if (RESERVED.has(name.toLowerCase())) throw bad(`${name} is set by virt-ovf itself and cannot be given`);
    out.push([name, value]);
  }
  return out;
}

/**
 * The session of one URL source: trusted CAs (`caFile`, else the system store), the headers
 * (`headerFile`, then {@link HTTP_HEADER_ENV}), timeouts and keep-alive agents.
 * @throws UsageError (option `httpCaFile` / `httpHeaderFile`) for a file that cannot be read or
 *   parsed; UsageError for a URL carrying user information (credentials go in a header file).
 */
export function httpSession(url: URL, opts: HttpOptions = {}): HttpSession {
  if (url.username !== '' || url.password !== '') {
    throw new UsageError(`${url.protocol}//${url.host}${url.pathname}: a URL with user information (user:password@) is refused, so that credentials stay off the command line; put an Authorization header in a file`, { option: 'httpHeaderFile' });
  }
  const env = opts.env ?? process.env;
  const { pem, source } = opts.caFile !== undefined ? { pem: readCa(opts.caFile), source: `--http-ca ${opts.caFile}` } : withExtraCa(systemCa(env), opts.extraCaFile);
  const headers: [string, string][] = [];
  if (opts.headerFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(opts.headerFile, 'utf8');
    } catch (cause) {
      throw new UsageError(`header file ${opts.headerFile}: cannot read: ${(cause as Error).message}`, { option: 'httpHeaderFile', cause });
    }
    headers.push(...parseHeaderLines(text, `header file ${opts.headerFile}`, 'httpHeaderFile'));
  }
  const fromEnv = env[HTTP_HEADER_ENV];
  if (fromEnv !== undefined && fromEnv !== '') headers.push(...parseHeaderLines(fromEnv, `$${HTTP_HEADER_ENV}`));
  const agentOptions = { keepAlive: true, maxSockets: 8 };
  return {
    ca: pem,
    caSource: source,
    headers,
    origin: url.origin,
    connectTimeoutMs: opts.connectTimeoutMs ?? 30_000,
    readTimeoutMs: opts.readTimeoutMs ?? 60_000,
    retries: opts.retries ?? 3,
    retryDelayMs: opts.retryDelayMs ?? 500,
    signal: opts.signal,
    agents: { http: new HttpAgent(agentOptions), https: new HttpsAgent({ ...agentOptions, ca: pem }) },
    bytesReceived: 0,
  };
}

/** A URL as messages show it: no user information, the query elided (it may hold a signature). */
export function displayUrl(url: URL | string): string {
  const u = typeof url === 'string' ? new URL(url) : url;
  return `${u.protocol}//${u.host}${u.pathname}${u.search !== '' ? '?…' : ''}`;
}
