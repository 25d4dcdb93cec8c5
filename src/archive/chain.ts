// The signer's certificate chain of a package signature (.cert, DSP0243 5.2), judged as
// VirtualBox and ovftool judge an OVF signing certificate. The path itself is validated by
// `openssl verify` (archive/openssl.ts), as ovftool does with OpenSSL and VirtualBox with IPRT's
// RTCrX509CertPathsValidateAll: every signature, every certificate within its validity dates,
// each CA with basicConstraints CA:TRUE and, when it has keyUsage, keyCertSign, pathLen honoured.
// The signer's usage is checked here as VirtualBox's RTCrPkcs7VerifyCertCallbackCodeSigning
// does: keyUsage, when present, allows digitalSignature; extendedKeyUsage, when present, allows
// code signing (codeSigning or anyExtendedKeyUsage). VirtualBox requires the extension; OVF
// signing certificates made as ovftool's guide shows (`openssl req -x509`) have none, so its
// absence is accepted.

import type { X509Certificate } from 'node:crypto';
import { opensslExtensions, opensslVerify, type VerifyFinding } from './openssl.js';
import type { TrustAnchors } from './trust.js';

/** What judgeChain found. */
export interface ChainVerdict {
  /** A valid path leads from the signer to a trusted certificate (or the signer is one), validity dates aside. */
  trusted: boolean;
  /** Subjects from the signer to the trusted certificate as openssl built it; the signer alone when openssl refused the path. */
  chain: string[];
  /** The signer's notAfter is before `now`. */
  expired: boolean;
  /** The signer's notBefore is after `now`. */
  notYetValid: boolean;
  /** Each problem in words, naming the certificate and why (`signer certificate "CN=…": key usage does not allow digital signatures`); empty when none. */
  problems: string[];
}

/** X509_V_ERR_* codes (openssl/x509_vfy.h) about validity dates: CERT_NOT_YET_VALID, CERT_HAS_EXPIRED. */
const NOT_YET_VALID = 9;
const EXPIRED = 10;

/** extendedKeyUsage purposes, as openssl names them, that allow signing a package. */
const CODE_SIGNING = ['Code Signing', 'Any Extended Key Usage'];

/** A distinguished name on one line, in certificate order like `openssl x509 -subject` (Node prints one RDN per line). */
export function oneLine(dn: string): string {
  return dn.split('\n').filter((p) => p !== '').join(', ');
}

const iso = (date: string): string => new Date(date).toISOString();
const listed = (values: readonly string[]): string => (values.length > 0 ? values.join(', ') : 'nothing');

/** What describeFinding needs besides the finding. */
interface Context {
  /** `signer certificate "CN=…"`. */
  signer: string;
  /** Every certificate openssl may have put in the path: the signer, the intermediates, the trusted ones. */
  known: readonly X509Certificate[];
  /** Where trust came from, for messages. */
  source: string;
}

const NOT_CA = 'basic constraints do not mark it as a certificate authority (CA:TRUE)';
const NO_CERT_SIGN = 'key usage does not allow signing certificates (keyCertSign)';

/** Why openssl found `cert` no CA (INVALID_CA): its basicConstraints, its keyUsage, or both. */
async function notCaReasons(cert: X509Certificate | undefined): Promise<string[]> {
  const ext = cert ? await opensslExtensions(cert) : {};
  const reasons: string[] = [];
  if (!ext.basicConstraints?.includes('CA:TRUE')) reasons.push(NOT_CA);
  if (ext.keyUsage && !ext.keyUsage.includes('Certificate Sign')) reasons.push(NO_CERT_SIGN);
  return reasons.length > 0 ? reasons : [NOT_CA];
}

/** An openssl finding in words, naming the certificate; none for the signer's own dates (judgeChain words those). */
async function describeFinding(f: VerifyFinding, ctx: Context): Promise<string[]> {
  const cert = ctx.known.find((c) => oneLine(c.subject) === f.subject);
  const who = f.depth === 0 ? ctx.signer : `CA certificate "${f.subject}"`;
  const noPath = `${ctx.signer}: no chain leads from it to a trusted certificate (${ctx.source})`;
  const issuer = cert ? ` "${oneLine(cert.issuer)}"` : '';
  switch (f.code) {
    case NOT_YET_VALID:
      return f.depth === 0 ? [] : [`${who}: not valid before ${cert ? iso(cert.validFrom) : 'now'}`];
    case EXPIRED:
      return f.depth === 0 ? [] : [`${who}: expired${cert ? ` on ${iso(cert.validTo)}` : ''}`];
    case 18: // DEPTH_ZERO_SELF_SIGNED_CERT
      return [`${ctx.signer}: self-signed and not among the trusted certificates (${ctx.source})`];
    case 19: // SELF_SIGNED_CERT_IN_CHAIN
      return [`${noPath}; the path ends at the self-signed "${f.subject}", which is not trusted`];
    case 2: // UNABLE_TO_GET_ISSUER_CERT
    case 20: // UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    case 21: // UNABLE_TO_VERIFY_LEAF_SIGNATURE
      return [
        f.depth === 0
          ? `${noPath}: its issuer${issuer} is neither trusted nor in the .cert`
          : `${noPath}: the issuer${issuer} of CA certificate "${f.subject}" is neither trusted nor in the .cert`,
      ];
    case 7: // CERT_SIGNATURE_FAILURE
      return [`${who}: its signature does not verify with the public key of its issuer`];
    case 24: // INVALID_CA (OpenSSL 1.1)
    case 79: // INVALID_CA
      return (await notCaReasons(cert)).map((why) => `${who}: ${why}`);
    case 32: // KEYUSAGE_NO_CERTSIGN
      return [`${who}: ${NO_CERT_SIGN}`];
    case 25: // PATH_LENGTH_EXCEEDED
      return [`${who}: more CA certificates follow below it than its path length constraint (basicConstraints pathLen) allows`];
    default:
      return [`${who}: ${f.reason} (openssl verify error ${f.code})`];
  }
}

/** The signer's keyUsage and extendedKeyUsage problems. */
async function usageProblems(signer: X509Certificate, who: string): Promise<string[]> {
  const usage = await opensslExtensions(signer);
  const problems: string[] = [];
  if (usage.keyUsage && !usage.keyUsage.includes('Digital Signature')) problems.push(`${who}: key usage does not allow digital signatures (it allows ${listed(usage.keyUsage)})`);
  if (usage.extendedKeyUsage && !usage.extendedKeyUsage.some((u) => CODE_SIGNING.includes(u))) {
    problems.push(`${who}: extended key usage does not allow code signing (it allows ${listed(usage.extendedKeyUsage)})`);
  }
  return problems;
}

/**
 * Judges the signer's certificate and chain at time `now`: the signer's validity dates and
 * usage, then the path through `intermediates` (the .cert's other certificates, untrusted) to
 * one of `anchors`, validated by openssl.
 * @returns the verdict; nothing here throws for a bad certificate, every finding is a problem.
 * @throws ToolError when openssl is missing or fails (see opensslVerify).
 */
export async function judgeChain(input: { signer: X509Certificate; intermediates: readonly X509Certificate[]; anchors: TrustAnchors; now: Date }): Promise<ChainVerdict> {
  const { signer, intermediates, anchors, now } = input;
  const subject = oneLine(signer.subject);
  const who = `signer certificate "${subject}"`;
  const expired = new Date(signer.validTo).getTime() < now.getTime();
  const notYetValid = new Date(signer.validFrom).getTime() > now.getTime();
  const problems: string[] = [];
  if (expired) problems.push(`${who}: expired on ${iso(signer.validTo)}`);
  if (notYetValid) problems.push(`${who}: not valid before ${iso(signer.validFrom)}`);
  problems.push(...(await usageProblems(signer, who)));
  const result = await opensslVerify({ signer, intermediates, anchors: anchors.certificates, at: now });
  const ctx: Context = { signer: who, known: [signer, ...intermediates, ...anchors.certificates], source: anchors.source };
  for (const f of result.findings) {
    for (const problem of await describeFinding(f, ctx)) if (!problems.includes(problem)) problems.push(problem);
  }
  return {
    trusted: result.findings.every((f) => f.code === NOT_YET_VALID || f.code === EXPIRED),
    chain: result.chain.length > 0 ? result.chain : [subject],
    expired,
    notYetValid,
    problems,
  };
}
