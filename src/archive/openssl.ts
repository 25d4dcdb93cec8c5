// openssl adapter (Debian package openssl): `openssl verify` builds and validates a certificate
// path (RFC 5280 section 6: signatures, validity dates of every certificate, basicConstraints
// CA:TRUE and pathLenConstraint, keyUsage keyCertSign of each CA), and `openssl x509 -ext`
// decodes a certificate's basicConstraints, keyUsage and extendedKeyUsage. Nothing else in
// virt-ovf runs openssl.

import type { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { ToolError } from '../errors.js';

/**
 * How openssl prints a distinguished name: `CN=…, O=…` in certificate order, RFC 2253 and
 * control characters escaped, the same text as Node's X509Certificate.subject joined with ", ".
 */
const NAME_OPTIONS = 'esc_2253,esc_ctrl,utf8,sep_comma_plus_space,sname';

/** Longest an openssl run may take, in milliseconds. */
const TIMEOUT_MS = 60_000;

/** One error `openssl verify` reported: an X509_V_ERR_* code (openssl/x509_vfy.h) at a chain depth. */
export interface VerifyFinding {
  code: number;
  /** 0 is the certificate verified (the signer), 1 its issuer, and so on up the chain. */
  depth: number;
  /** Subject of the certificate at that depth, one line (`CN=…, O=…`). */
  subject: string;
  /** openssl's own words (X509_verify_cert_error_string). */
  reason: string;
}

/** What `openssl verify` found. */
export interface VerifyResult {
  /** The path openssl built, signer first, trust anchor last, when it verified without error; else empty. */
  chain: string[];
  /** Every error openssl reported; empty when the chain verified. */
  findings: VerifyFinding[];
}

const FINDING = /^error (\d+) at (\d+) depth lookup: (.*)$/;
const CHAIN_LINE = /^depth=(\d+): (.*?)( \(untrusted\))?$/;

/** Runs openssl with `args`; stdin gets `input`. @throws ToolError when openssl is not installed or does not finish. */
async function run(args: string[], input: string): Promise<{ exitCode: number | undefined; stdout: string; stderr: string }> {
  const r = await execa('openssl', args, { input, reject: false, timeout: TIMEOUT_MS });
  if ((r as { code?: string }).code === 'ENOENT') throw new ToolError('openssl not found: install it (Debian: apt-get install openssl)', { command: 'openssl' });
  if (r.timedOut) throw new ToolError(`openssl ${args[0]} did not finish within ${TIMEOUT_MS / 1000} s`, { command: `openssl ${args[0]}` });
  return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/**
 * Validates the path from `signer` through `intermediates` to one of `anchors` with
 * `openssl verify -no-CApath -no-CAstore -CAfile ANCHORS [-untrusted INTERMEDIATES]
 * -partial_chain -attime T -show_chain`: only `anchors` are trusted (never openssl's default
 * store), any of them may end the path (-partial_chain: a certificate pinned with --ca is
 * trusted whether or not it is self-signed), and every date is judged at `at`. No -purpose:
 * OpenSSL 3.0 has none for code signing (the caller checks the signer's usage). No
 * -x509_strict: it refuses a CA certificate without keyUsage (what `openssl req -x509` makes)
 * as the issuer of a signer, which RFC 5280 and VirtualBox accept; without it openssl still
 * requires basicConstraints CA:TRUE of every intermediate.
 * The PEM files live in a private temporary directory for the run.
 * @returns the chain when openssl accepts it, else openssl's findings (the verify callback of
 *   the openssl command goes on after expired, invalid CA and path length errors, and stops
 *   at the first missing issuer or bad signature).
 * @throws ToolError when openssl is missing, times out, or fails without a verify error (for
 *   example a certificate it cannot load).
 */
export async function opensslVerify(input: { signer: X509Certificate; intermediates: readonly X509Certificate[]; anchors: readonly X509Certificate[]; at: Date }): Promise<VerifyResult> {
  const dir = await mkdtemp(join(tmpdir(), 'virt-ovf-verify-'));
  try {
    const anchors = join(dir, 'anchors.pem');
    await writeFile(anchors, input.anchors.map((c) => c.toString()).join(''));
    const args = ['verify', '-nameopt', NAME_OPTIONS, '-no-CApath', '-no-CAstore', '-CAfile', anchors, '-partial_chain', '-attime', String(Math.floor(input.at.getTime() / 1000)), '-show_chain'];
    if (input.intermediates.length > 0) {
      const untrusted = join(dir, 'untrusted.pem');
      await writeFile(untrusted, input.intermediates.map((c) => c.toString()).join(''));
      args.push('-untrusted', untrusted);
    }
    const r = await run(args, input.signer.toString());
    if (r.exitCode === 0) {
      const chain = r.stdout.split('\n').flatMap((line) => {
        const m = CHAIN_LINE.exec(line);
        return m ? [m[2] ?? ''] : [];
      });
      return { chain, findings: [] };
    }
    const lines = r.stderr.split('\n');
    const findings = lines.flatMap((line, i): VerifyFinding[] => {
      const m = FINDING.exec(line);
      return m ? [{ code: Number(m[1]), depth: Number(m[2]), subject: i > 0 ? (lines[i - 1] ?? '') : '', reason: m[3] ?? '' }] : [];
    });
    if (r.exitCode !== 2 || findings.length === 0) {
      throw new ToolError(`openssl verify failed (exit ${r.exitCode ?? 'none'}): ${r.stderr.trim().split('\n').slice(0, 3).join('; ')}`, { command: 'openssl verify', ...(r.exitCode !== undefined ? { exitCode: r.exitCode } : {}), stderr: r.stderr });
    }
    return { chain: [], findings };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A certificate's constraint and usage extensions as openssl prints them; a field is absent when the certificate lacks the extension. */
export interface CertificateExtensions {
  /** basicConstraints (RFC 5280 4.2.1.9), e.g. `CA:TRUE`, `pathlen:0`. */
  basicConstraints?: string[];
  /** keyUsage bits (RFC 5280 4.2.1.3), e.g. `Digital Signature`, `Certificate Sign`. */
  keyUsage?: string[];
  /** extendedKeyUsage purposes (RFC 5280 4.2.1.12), e.g. `Code Signing`, `Any Extended Key Usage`, or a dotted OID. */
  extendedKeyUsage?: string[];
}

const EXTENSION_HEADERS = new Map<string, keyof CertificateExtensions>([
  ['X509v3 Basic Constraints', 'basicConstraints'],
  ['X509v3 Key Usage', 'keyUsage'],
  ['X509v3 Extended Key Usage', 'extendedKeyUsage'],
]);

/**
 * Decodes the basicConstraints, keyUsage and extendedKeyUsage extensions of `cert` with
 * `openssl x509 -noout -ext basicConstraints,keyUsage,extendedKeyUsage`.
 * @throws ToolError when openssl is missing or fails.
 */
export async function opensslExtensions(cert: X509Certificate): Promise<CertificateExtensions> {
  const r = await run(['x509', '-noout', '-ext', 'basicConstraints,keyUsage,extendedKeyUsage'], cert.toString());
  if (r.exitCode !== 0) throw new ToolError(`openssl x509 failed (exit ${r.exitCode ?? 'none'}): ${r.stderr.trim().split('\n')[0] ?? ''}`, { command: 'openssl x509', stderr: r.stderr });
  const extensions: CertificateExtensions = {};
  const lines = r.stdout.split('\n');
  lines.forEach((line, i) => {
    const field = EXTENSION_HEADERS.get(line.replace(/:.*$/, ''));
    if (field !== undefined) extensions[field] = (lines[i + 1] ?? '').trim().split(/,\s*/).filter((v) => v !== '');
  });
  return extensions;
}
