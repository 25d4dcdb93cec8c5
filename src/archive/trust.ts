// Trusted certificates for package signatures: a --ca PEM bundle, or the system CA store.

import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { rootCertificates } from 'node:tls';
import { UsageError } from '../errors.js';

/** The Debian/Ubuntu system bundle (update-ca-certificates), read when present. */
export const SYSTEM_CA_FILE = '/etc/ssl/certs/ca-certificates.crt';

/** Largest CA bundle read, in bytes. */
const MAX_BUNDLE_BYTES = 16 * 1024 * 1024;

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----/g;

/** A set of trusted certificates and where it came from, for messages. */
export interface TrustAnchors {
  certificates: X509Certificate[];
  source: string;
}

/** Parses every PEM certificate of `text`; blocks that are not valid certificates are returned as errors. */
function parseBundle(text: string): { certificates: X509Certificate[]; bad: number } {
  const certificates: X509Certificate[] = [];
  let bad = 0;
  for (const pem of text.match(PEM_BLOCK) ?? []) {
    try {
      certificates.push(new X509Certificate(pem));
    } catch {
      bad++;
    }
  }
  return { certificates, bad };
}

let systemAnchors: Promise<TrustAnchors> | undefined;

/** The system store: SYSTEM_CA_FILE when readable, plus Node's bundled roots (tls.rootCertificates). */
async function loadSystem(): Promise<TrustAnchors> {
  const certificates = parseBundle(rootCertificates.join('\n')).certificates;
  let source = 'the system CA store (Node.js bundled roots)';
  try {
    const text = await readFile(SYSTEM_CA_FILE, 'utf8');
    certificates.push(...parseBundle(text).certificates);
    source = `the system CA store (${SYSTEM_CA_FILE} and Node.js bundled roots)`;
  } catch {
    // No system bundle: Node's roots alone.
  }
  return { certificates, source };
}

/**
 * Loads the certificates a package signature may chain to (DSP0243 section 5.2 leaves the
 * trust store to the consumer): the PEM bundle `caFile` when given (it replaces the system
 * store), else the system store, read once per process and cached.
 * @param caFile host path of a PEM bundle (--ca FILE).
 * @throws UsageError when `caFile` cannot be read, is larger than 16 MiB, holds no PEM
 *   certificate, or holds a PEM block that is not a valid certificate.
 */
export async function loadTrustAnchors(caFile?: string): Promise<TrustAnchors> {
  if (caFile === undefined) {
    systemAnchors ??= loadSystem();
    return systemAnchors;
  }
  let text: string;
  try {
    const bytes = await readFile(caFile);
    if (bytes.length > MAX_BUNDLE_BYTES) throw new Error(`larger than ${MAX_BUNDLE_BYTES} bytes`);
    text = bytes.toString('utf8');
  } catch (cause) {
    throw new UsageError(`CA bundle ${caFile}: cannot read: ${(cause as Error).message}`, { cause, option: 'caFile' });
  }
  const { certificates, bad } = parseBundle(text);
  if (bad > 0) throw new UsageError(`CA bundle ${caFile}: ${bad} PEM block(s) are not valid X.509 certificates`, { option: 'caFile' });
  if (certificates.length === 0) throw new UsageError(`CA bundle ${caFile}: no PEM certificate (-----BEGIN CERTIFICATE-----) in the file`, { option: 'caFile' });
  return { certificates, source: `--ca ${caFile}` };
}
