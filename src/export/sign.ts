// The OVF package certificate (.cert, DSP0243 5.2): a signature over the manifest's exact bytes
// and the signer's PEM certificate chain, made with node:crypto (the format ovftool writes and
// archive/certificate.ts verifies).
import { createPrivateKey, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import type { DigestAlgorithm } from '../archive/manifest.js';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+?-----END CERTIFICATE-----/g;

/** Field sizes in bits of the named curves node:crypto reports for EC keys. */
const CURVE_BITS: Record<string, number> = { prime256v1: 256, 'P-256': 256, secp256k1: 256, secp384r1: 384, 'P-384': 384, secp521r1: 521, 'P-521': 521 };

/** A private key and the PEM certificates (signer first) that go into the .cert. */
interface Signer {
  readonly key: KeyObject;
  /** Each certificate block, LF line ends, newline-terminated. */
  readonly pems: readonly string[];
}

/**
 * Reads the signing key and its certificate (chain) and checks that they belong together.
 * @throws UsageError (option signKey or signCert) when a file cannot be read, the key is
 *   passphrase-protected or not a private key, the certificate file holds no PEM certificate
 *   or an invalid one, or the key does not match the first certificate.
 */
function loadSigner(keyPemPath: string, certPemPath: string): Signer {
  let key: KeyObject;
  try {
    const pem = readFileSync(keyPemPath);
    if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(pem.toString('latin1'))) throw new Error('the key is passphrase-protected; write an unencrypted copy (openssl pkey -in KEY -out PLAIN) for the export');
    key = createPrivateKey(pem);
  } catch (cause) {
    throw new UsageError(`signing key ${keyPemPath}: cannot read the private key: ${(cause as Error).message}`, { cause, option: 'signKey' });
  }
  let text: string;
  try {
    text = readFileSync(certPemPath, 'utf8');
  } catch (cause) {
    throw new UsageError(`certificate ${certPemPath}: cannot read: ${(cause as Error).message}`, { cause, option: 'signCert' });
  }
  const pems = (text.match(PEM_CERTIFICATE) ?? []).map((pem) => `${pem.replace(/\r\n/g, '\n')}\n`);
  if (pems.length === 0) throw new UsageError(`certificate ${certPemPath}: no PEM certificate (-----BEGIN CERTIFICATE-----) in the file`, { option: 'signCert' });
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(pems[0]!);
    pems.slice(1).forEach((pem) => new X509Certificate(pem));
  } catch (cause) {
    throw new UsageError(`certificate ${certPemPath}: not a valid X.509 certificate: ${(cause as Error).message}`, { cause, option: 'signCert' });
  }
  if (!leaf.checkPrivateKey(key)) {
    throw new UsageError(`signing key ${keyPemPath} does not belong to the certificate in ${certPemPath} (${leaf.subject.split('\n').join(', ')}); give the key of that certificate`, { option: 'signKey' });
  }
  return { key, pems };
}

/**
 * Largest signature the key makes, in bytes: the modulus length for RSA (PKCS#1 v1.5
 * signatures always have it), the longest DER encoding of (r, s) for ECDSA, 64 for Ed25519
 * and 114 for Ed448.
 * @throws UsageError for another key type.
 */
function maxSignatureBytes(key: KeyObject, keyPemPath: string): number {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss':
      return Math.ceil((details.modulusLength ?? 0) / 8);
    case 'ec': {
      const n = Math.ceil((CURVE_BITS[details.namedCurve ?? ''] ?? 521) / 8);
      const content = 2 * (n + 3); // two INTEGERs: tag, length, a leading zero and n bytes
      return content + (content > 127 ? 3 : 2);
    }
    case 'ed25519':
      return 64;
    case 'ed448':
      return 114;
    default:
      throw new UsageError(`signing key ${keyPemPath}: ${key.asymmetricKeyType} keys cannot sign a package; use an RSA, EC or Ed25519 key`, { option: 'signKey' });
  }
}

/** The signature line's prefix, e.g. `SHA256(vm.mf)= `. */
const linePrefix = (manifestName: string, algorithm: DigestAlgorithm): string => `${algorithm.toUpperCase()}(${manifestName})= `;

/**
 * Size in bytes of the .cert {@link signManifest} writes with `size` left out, at most: known
 * before the manifest exists, so the OVA writer can reserve it. Exact for RSA keys (signature
 * hex = modulus bits / 4); for ECDSA, whose DER signatures vary by a few bytes, the maximum.
 * @throws UsageError as loadSigner and maxSignatureBytes do.
 */
export function certificateSize(manifestName: string, keyPemPath: string, certPemPath: string, algorithm: DigestAlgorithm): number {
  const signer = loadSigner(keyPemPath, certPemPath);
  const pems = signer.pems.reduce((sum, pem) => sum + Buffer.byteLength(pem), 0);
  return Buffer.byteLength(linePrefix(manifestName, algorithm)) + 2 * maxSignatureBytes(signer.key, keyPemPath) + 1 + pems;
}

/**
 * Signs a manifest (DSP0243 5.2): `SHA256(name.mf)= hexsignature` over the manifest's exact
 * bytes (PKCS#1 v1.5 for RSA keys, DER ECDSA for EC keys, pure EdDSA for Ed25519/Ed448),
 * then the PEM certificates of `certPemPath` (signer first, then any chain), LF line ends.
 * @param manifest the .mf bytes exactly as stored in the package.
 * @param manifestName its name in the package (between the parentheses).
 * @param algorithm digest of the signature: sha1, sha256 or sha512.
 * @param size when given, the result is padded with trailing spaces and a newline (outside
 *   the PEM blocks, which readers ignore) to exactly this many bytes: the reserved region.
 * @returns the .cert content.
 * @throws UsageError as loadSigner does; RangeError when the certificate is longer than `size`.
 */
export function signManifest(manifest: Buffer, manifestName: string, keyPemPath: string, certPemPath: string, algorithm: DigestAlgorithm, size?: number): Buffer {
  const signer = loadSigner(keyPemPath, certPemPath);
  const type = signer.key.asymmetricKeyType;
  const signature = sign(type === 'ed25519' || type === 'ed448' ? null : algorithm, manifest, signer.key);
  const text = Buffer.from(`${linePrefix(manifestName, algorithm)}${signature.toString('hex')}\n${signer.pems.join('')}`, 'utf8');
  if (size === undefined) return text;
  if (text.length > size) throw new RangeError(`the certificate is ${text.length} bytes, more than the ${size} bytes reserved for it`);
  const out = Buffer.alloc(size, 0x20);
  text.copy(out);
  if (size > text.length) out[size - 1] = 0x0a;
  return out;
}
