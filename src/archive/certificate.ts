// The OVF package certificate (.cert, DSP0243 section 5.2): a signature over the manifest plus
// the signer's X.509 certificate chain. The signature over the .mf is verified with node:crypto;
// the chain is judged by archive/chain.ts, which has openssl validate the path.
//
// File format (as written by ovftool): a line `SHA256(name.mf)= <hex signature>` (SHA1, SHA256
// or SHA512; the signature is over the exact bytes of the .mf file, PKCS#1 v1.5 for RSA keys),
// followed by one or more PEM `CERTIFICATE` blocks: the signer first, then any intermediates.

import { verify as verifySignature, X509Certificate } from 'node:crypto';
import { ManifestError, PackageError } from '../errors.js';
import type { Archive } from './model.js';
import { findCompanion, findManifest } from './manifest.js';
import { canonicalName, quoteName } from './policy.js';
import { judgeChain, oneLine } from './chain.js';
import { loadTrustAnchors } from './trust.js';

/** Largest .cert file read, in bytes. */
const MAX_CERT_BYTES = 1024 * 1024;

/** The parsed contents of a .cert file. */
export interface CertificateFile {
  algorithm: 'sha1' | 'sha256' | 'sha512';
  /** The manifest named between the parentheses. */
  manifestName: string;
  /** The signature bytes (decoded from hex). */
  signature: Buffer;
  /** Signer's certificate first, then the intermediates, in file order. */
  certificates: X509Certificate[];
}

/** What verifyCertificate found. Dates are the certificate's notBefore/notAfter. */
export interface SignatureReport {
  certificateName: string;
  manifestName: string;
  algorithm: CertificateFile['algorithm'];
  /** Subject of the signing certificate, one line in certificate order (`C=US, O=..., CN=...`). */
  signer: string;
  /** Issuer of the signing certificate, one line. */
  issuer: string;
  validFrom: Date;
  validTo: Date;
  /** SHA-256 fingerprint of the signing certificate (colon-separated hex). */
  fingerprint256: string;
  /** Always true in a returned report: a bad signature throws instead. */
  signatureValid: boolean;
  /** A valid path leads from the signer to a trusted certificate (or the signer is one), validity dates aside. */
  chainTrusted: boolean;
  selfSigned: boolean;
  /** The signing certificate's notAfter is before `now`. */
  expired: boolean;
  /** The signing certificate's notBefore is after `now`. */
  notYetValid: boolean;
  /** Subjects from the signer up to the trusted certificate; the signer alone when the path did not validate. */
  chain: string[];
  /** Where trust came from: the --ca file, or "the system CA store". */
  trustSource: string;
  /**
   * Every certificate problem, in words, naming the certificate and why (`signer certificate
   * "CN=…": key usage does not allow digital signatures`): validity dates of every certificate,
   * the signer's keyUsage/extendedKeyUsage, self-signed or untrusted, a CA without CA:TRUE or
   * keyCertSign, a pathLen exceeded (ChainVerdict.problems); empty when none.
   */
  problems: string[];
}

const SIGNATURE_LINE = /^(SHA1|SHA256|SHA512)\(([^\r\n]+)\)\s*=\s*([0-9A-Fa-f]+)$/i;
const PEM_BLOCK = /-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+?-----END CERTIFICATE-----/g;

/**
 * Parses a .cert file (DSP0243 section 5.2).
 * @param text the file's text; CRLF line ends are accepted.
 * @param fileName the .cert name, for messages.
 * @throws PackageError (file = `fileName`) when the first non-blank line is not
 *   `ALGO(name.mf)= hex` with ALGO one of SHA1, SHA256, SHA512 and an even number of hex
 *   digits; when no PEM certificate follows; when text other than whitespace lies outside
 *   the PEM blocks; or when a PEM block is not a valid X.509 certificate.
 */
export function parseCertificateFile(text: string, fileName: string): CertificateFile {
  const fail = (why: string, cause?: unknown): PackageError => new PackageError(`${fileName}: ${why}`, { file: fileName, cause });
  const body = text.replace(/^\uFEFF/, '').replace(/^\s+/, '');
  const end = body.search(/\r?\n|$/);
  const first = body.slice(0, end).trim();
  const match = SIGNATURE_LINE.exec(first);
  if (!match) throw fail(`the first line is not a signature line of the form SHA256(name.mf)= hex: ${quoteName(first.slice(0, 100))}`);
  const [, alg = '', manifestName = '', hex = ''] = match;
  if (hex.length % 2 !== 0) throw fail('the signature has an odd number of hex digits');
  const rest = body.slice(end);
  const blocks = rest.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) throw fail('no PEM certificate (-----BEGIN CERTIFICATE-----) follows the signature line');
  if (rest.replace(PEM_BLOCK, '').trim() !== '') throw fail('holds text outside the signature line and the PEM certificates');
  const certificates = blocks.map((pem, i) => {
    try {
      return new X509Certificate(pem);
    } catch (cause) {
      throw fail(`certificate ${i + 1} is not a valid X.509 certificate: ${(cause as Error).message}`, cause);
    }
  });
  return { algorithm: alg.toLowerCase() as CertificateFile['algorithm'], manifestName, signature: Buffer.from(hex, 'hex'), certificates };
}

/**
 * Verifies the package signature (DSP0243 section 5.2): finds the .cert (named like the
 * descriptor, else the only `*.cert`), checks that it signs the package's manifest, verifies
 * the signature over the exact .mf bytes with the signer's public key (crypto.verify), then
 * judges the signer and its chain (judgeChain: openssl verify through the intermediates of the
 * .cert to a trusted certificate, those of `opts.caFile` when given, else the system CA store,
 * plus the signer's usage). A signer that is itself in the trusted set (pinned with --ca) is
 * trusted, self-signed or not.
 * @param archive the opened package.
 * @param opts caFile: PEM bundle of trusted certificates (replaces the system store);
 *   now: the time validity is judged at (default: the current time).
 * @returns undefined when the package has no .cert; else the report. Certificate problems
 *   (dates, usage, untrusted, invalid CA, pathLen) are listed in `problems`, not thrown.
 * @throws PackageError (file = the .cert) when the package has a .cert but no .mf, several
 *   .cert files none named like the descriptor, or a malformed .cert (parseCertificateFile).
 * @throws ManifestError (file = the .cert) when the .cert signs another file than the
 *   package's manifest, or the signature does not verify (always fatal).
 * @throws UsageError when `caFile` cannot be read or holds no certificate; ToolError when
 *   openssl is missing or fails.
 */
export async function verifyCertificate(archive: Archive, opts: { caFile?: string; now?: Date } = {}): Promise<SignatureReport | undefined> {
  const certificateName = findCompanion(archive, '.cert');
  if (certificateName === undefined) return undefined;
  const manifestName = findManifest(archive);
  if (manifestName === undefined) {
    throw new PackageError(`${archive.source}: the package has a certificate ${quoteName(certificateName)} but no manifest (.mf); a signature needs a manifest to cover`, { file: certificateName });
  }
  const cert = parseCertificateFile((await archive.readSmall(certificateName, MAX_CERT_BYTES)).toString('utf8'), certificateName);
  if (canonicalName(cert.manifestName) !== canonicalName(manifestName)) {
    throw new ManifestError(`${certificateName}: signs ${quoteName(cert.manifestName)}, but the package's manifest is ${quoteName(manifestName)}`, { file: certificateName });
  }
  const manifest = await archive.readSmall(manifestName);
  const [leaf, ...intermediates] = cert.certificates as [X509Certificate, ...X509Certificate[]];
  const signer = oneLine(leaf.subject);
  let valid: boolean;
  try {
    const keyType = leaf.publicKey.asymmetricKeyType;
    valid = verifySignature(keyType === 'ed25519' || keyType === 'ed448' ? null : cert.algorithm, manifest, leaf.publicKey, cert.signature);
  } catch {
    valid = false;
  }
  if (!valid) {
    throw new ManifestError(
      `${certificateName}: the ${cert.algorithm.toUpperCase()} signature over ${manifestName} does not verify with the certificate of ${signer}; the manifest or the certificate was altered`,
      { file: certificateName },
    );
  }
  const anchors = await loadTrustAnchors(opts.caFile);
  const verdict = await judgeChain({ signer: leaf, intermediates, anchors, now: opts.now ?? new Date() });
  return {
    certificateName,
    manifestName,
    algorithm: cert.algorithm,
    signer,
    issuer: oneLine(leaf.issuer),
    validFrom: new Date(leaf.validFrom),
    validTo: new Date(leaf.validTo),
    fingerprint256: leaf.fingerprint256,
    signatureValid: true,
    chainTrusted: verdict.trusted,
    selfSigned: leaf.checkIssued(leaf) && leaf.verify(leaf.publicKey),
    expired: verdict.expired,
    notYetValid: verdict.notYetValid,
    chain: verdict.chain,
    trustSource: anchors.source,
    problems: verdict.problems,
  };
}
