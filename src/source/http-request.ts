// One HTTP(S) request of a URL source: redirects followed (at most 5, never https to http), timeouts, and its failures as TransferError.
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ClientRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ExitCode, TransferError } from '../errors.js';
import { displayUrl, type HttpSession } from './http-options.js';

/** Most redirects followed for one request. */
export const MAX_REDIRECTS = 5;

/** A response whose headers arrived; the body is still to be read (or destroyed). */
export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: IncomingMessage;
  /** The URL that answered, after redirects: the base for an .ovf's neighbours. */
  readonly url: URL;
}

/** What to ask: the method and, for GET, the byte range [start, end] (inclusive, as the Range header says). */
export interface RequestInit {
  readonly method: 'GET' | 'HEAD';
  readonly range?: readonly [number, number];
}

/** TLS verification failures (OpenSSL's X509_V_ERR names as Node reports them). */
const UNTRUSTED = /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_(HAS_EXPIRED|NOT_YET_VALID|UNTRUSTED|REJECTED|SIGNATURE_FAILURE)|ERR_TLS_CERT_ALTNAME_INVALID|INVALID_CA|INVALID_PURPOSE)$/;

/** Failures worth a retry: the connection, not the answer. */
const TRANSIENT = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ERR_STREAM_PREMATURE_CLOSE', 'ABORTED']);

/** True when `err` is a failure a later attempt may not see: a dropped or refused connection, a timeout, a 502/503/504. */
export function isTransient(err: unknown): boolean {
  if (err instanceof TransferError) return err.exitCode === ExitCode.Conversion && (err.status === undefined || err.status === 502 || err.status === 503 || err.status === 504) && !/changed on the server/.test(err.message);
  return TRANSIENT.has(String((err as NodeJS.ErrnoException)?.code ?? ''));
}

/**
 * The TransferError for an error of the connection or TLS (not an HTTP status): an untrusted
 * certificate is exit 2 (option `httpCaFile`), a host name that does not resolve exit 2, the
 * rest exit 5.
 */
export function connectionError(url: URL, err: unknown, session: Pick<HttpSession, 'caSource'>): TransferError {
  if (err instanceof TransferError) return err;
  const code = String((err as NodeJS.ErrnoException)?.code ?? '');
  const where = displayUrl(url);
  const reason = (err as Error)?.message ?? String(err);
  if (UNTRUSTED.test(code)) {
    return new TransferError(`${where}: the server's certificate is not trusted (${reason}; trusted: ${session.caSource}); give the CA that issued it with --http-ca FILE`, { url: where, exitCode: ExitCode.Usage, option: 'httpCaFile', cause: err });
  }
  if (code === 'ENOTFOUND') return new TransferError(`${where}: the host name ${url.hostname} does not resolve; check the URL`, { url: where, exitCode: ExitCode.Usage, cause: err });
  const what: Record<string, string> = {
    ECONNREFUSED: 'the connection was refused (is the server running?)',
    ECONNRESET: 'the connection was dropped (reset by the server)',
    ETIMEDOUT: 'the server did not answer in time',
    ABORTED: 'the connection was dropped before the end of the body',
    ERR_STREAM_PREMATURE_CLOSE: 'the connection was dropped before the end of the body',
  };
  return new TransferError(`${where}: ${what[code] ?? `the transfer failed: ${reason}`}`, { url: where, exitCode: ExitCode.Conversion, cause: err });
}

/**
 * The TransferError for an answer that is neither a success nor a redirect: 404/410 not found,
 * 401/403 access refused (option `httpHeaderFile`), other 4xx (exit 2); 5xx (exit 5).
 */
export function statusError(url: URL, status: number, message: string | undefined): TransferError {
  const where = displayUrl(url);
  const said = `HTTP ${status}${message ? ` ${message}` : ''}`;
  if (status === 404 || status === 410) return new TransferError(`${where}: not found on the server (${said}); check the URL`, { url: where, status, exitCode: ExitCode.Usage });
  if (status === 401 || status === 403) {
    return new TransferError(`${where}: the server refused access (${said}); give the credentials it needs as an Authorization header in a file with --http-header-file FILE or in $VIRT_OVF_HTTP_HEADER`, { url: where, status, exitCode: ExitCode.Usage, option: 'httpHeaderFile' });
  }
  if (status >= 500) return new TransferError(`${where}: the server failed (${said})`, { url: where, status, exitCode: ExitCode.Conversion });
  return new TransferError(`${where}: the server refused the request (${said})`, { url: where, status, exitCode: status >= 400 && status < 500 ? ExitCode.Usage : ExitCode.Conversion });
}

/** Sends one request (no redirect handling); resolves when the answer's headers arrive. */
function once(session: HttpSession, url: URL, init: RequestInit): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'accept-encoding': 'identity', 'user-agent': 'virt-ovf' };
    if (url.origin === session.origin) for (const [name, value] of session.headers) headers[name] = value;
    if (init.range) headers['range'] = `bytes=${init.range[0]}-${init.range[1]}`;
    const secure = url.protocol === 'https:';
    const options = { method: init.method, headers, agent: secure ? session.agents.https : session.agents.http, timeout: session.readTimeoutMs, ...(secure ? { ca: session.ca } : {}) };
    let req: ClientRequest;
    const timer = setTimeout(() => req.destroy(Object.assign(new Error('no answer in time'), { code: 'ETIMEDOUT' })), session.connectTimeoutMs);
    const onAbort = (): void => {
      req.destroy(session.signal?.reason as Error);
    };
    req = (secure ? httpsRequest : httpRequest)(url, options, (res) => {
      clearTimeout(timer);
      session.signal?.removeEventListener('abort', onAbort);
      resolve(res);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('no data in time'), { code: 'ETIMEDOUT' })));
    req.on('error', (err) => {
      clearTimeout(timer);
      session.signal?.removeEventListener('abort', onAbort);
      reject(session.signal?.aborted ? session.signal.reason : err);
    });
    if (session.signal?.aborted) onAbort();
    else session.signal?.addEventListener('abort', onAbort, { once: true });
    req.end();
  });
}

/**
 * Sends a request and follows redirects (301, 302, 303, 307, 308; at most {@link MAX_REDIRECTS};
 * only to http/https, never from https to http). The session's headers go to the origin of the
 * URL named only. The answer returned is the first that is not a redirect, whatever its status.
 * @throws TransferError for a connection or TLS failure (connectionError), a redirect refused
 *   (exit 2), or the signal's reason.
 */
export async function send(session: HttpSession, url: URL, init: RequestInit): Promise<HttpResponse> {
  let current = url;
  for (let hops = 0; ; hops++) {
    let res: IncomingMessage;
    try {
      res = await once(session, current, init);
    } catch (err) {
      if (session.signal?.aborted) throw session.signal.reason;
      throw connectionError(current, err, session);
    }
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (![301, 302, 303, 307, 308].includes(status) || location === undefined) return { status, headers: res.headers, body: res, url: current };
    res.resume();
    const where = displayUrl(url);
    if (hops === MAX_REDIRECTS) throw new TransferError(`${where}: more than ${MAX_REDIRECTS} redirects (the last to ${displayUrl(new URL(location, current))}); refused`, { url: where, status, exitCode: ExitCode.Usage });
    let next: URL;
    try {
      next = new URL(location, current);
    } catch {
      throw new TransferError(`${displayUrl(current)}: redirects to an invalid URL`, { url: where, status, exitCode: ExitCode.Usage });
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new TransferError(`${displayUrl(current)}: redirects to a ${next.protocol} URL; only http and https are followed`, { url: where, status, exitCode: ExitCode.Usage });
    if (current.protocol === 'https:' && next.protocol === 'http:') {
      throw new TransferError(`${displayUrl(current)}: redirects from https to plain http (${displayUrl(next)}); refused, the transfer would lose its protection`, { url: where, status, exitCode: ExitCode.Usage });
    }
    current = next;
  }
}
