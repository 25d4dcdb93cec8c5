// Keys and certificates made on the fly with the openssl command line, for the .cert tests.

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A key and its certificate, as host paths of PEM files. */
export interface Identity {
  key: string;
  cert: string;
}

/** Validity dates in openssl's `YYMMDDHHMMSSZ` form (openssl ca -startdate/-enddate). */
export interface Validity {
  start: string;
  end: string;
}

/** Extensions (openssl x509v3_config lines) of a CA certificate: RFC 5280 4.2.1.9 and 4.2.1.3. */
export const CA_EXTENSIONS = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign'];

/** Extensions of a signer (end-entity) certificate. */
export const SIGNER_EXTENSIONS = ['basicConstraints=CA:FALSE', 'keyUsage=digitalSignature'];

/** Runs openssl in `cwd`, failing loudly with its stderr. */
export function openssl(cwd: string, args: string[]): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A self-signed CA-capable certificate valid for 30 days from now. */
export function selfSigned(dir: string, name: string, cn: string, keyAlg = 'rsa:2048'): Identity {
  const id = { key: join(dir, `${name}.key`), cert: join(dir, `${name}.pem`) };
  const newkey = keyAlg.startsWith('ec') ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'] : ['-newkey', keyAlg];
  openssl(dir, ['req', '-x509', ...newkey, '-nodes', '-keyout', id.key, '-out', id.cert, '-days', '30', '-subj', `/CN=${cn}/O=virt-ovf tests`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,digitalSignature']);
  return id;
}

/** A certificate for a new key, issued by `issuer`; `ca` makes it an intermediate CA. */
export function issued(dir: string, name: string, cn: string, issuer: Identity, ca = false): Identity {
  return issuedWith(dir, name, cn, issuer, ca ? CA_EXTENSIONS : SIGNER_EXTENSIONS);
}

/**
 * A certificate for a new key (subject `/CN=cn`) with exactly `extensions`, issued by `issuer`:
 * valid 30 days from now (`openssl x509 -req`), or for `validity` (`openssl ca`).
 */
export function issuedWith(dir: string, name: string, cn: string, issuer: Identity, extensions: readonly string[], validity?: Validity): Identity {
  const id = { key: join(dir, `${name}.key`), cert: join(dir, `${name}.pem`) };
  const csr = join(dir, `${name}.csr`);
  openssl(dir, ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', id.key, '-out', csr, '-subj', `/CN=${cn}`]);
  if (validity) {
    caSign(dir, name, csr, id.cert, extensions, validity, ['-cert', issuer.cert, '-keyfile', issuer.key]);
    return id;
  }
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, `${extensions.join('\n')}\n`);
  openssl(dir, ['x509', '-req', '-in', csr, '-CA', issuer.cert, '-CAkey', issuer.key, '-set_serial', String(Date.now()), '-days', '30', '-extfile', ext, '-out', id.cert]);
  return id;
}

/** Signs `csr` with `openssl ca` (its own database files named after `name`) for the given dates. */
function caSign(dir: string, name: string, csr: string, out: string, extensions: readonly string[], validity: Validity, signer: string[]): void {
  const conf = join(dir, `${name}.cnf`);
  writeFileSync(join(dir, `${name}.index`), '');
  writeFileSync(join(dir, `${name}.serial`), `${Date.now().toString(16).padStart(12, '0')}\n`);
  writeFileSync(conf, [
    '[ca]', 'default_ca = ca_default', '[ca_default]', `database = ${name}.index`, 'new_certs_dir = .', `serial = ${name}.serial`,
    'default_md = sha256', 'policy = any', 'unique_subject = no', 'x509_extensions = ext', '[any]', 'commonName = supplied',
    '[ext]', ...extensions, '',
  ].join('\n'));
  openssl(dir, ['ca', '-batch', '-config', conf, ...signer, '-in', csr, '-out', out, '-startdate', validity.start, '-enddate', validity.end, '-notext']);
}

/** A self-signed certificate valid only from 2020-01-01 to 2021-01-01, made with `openssl ca -selfsign`. */
export function expiredSelfSigned(dir: string, name: string): Identity {
  const id = { key: join(dir, `${name}.key`), cert: join(dir, `${name}.pem`) };
  const csr = join(dir, `${name}.csr`);
  openssl(dir, ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', id.key, '-out', csr, '-subj', '/CN=Expired Signer']);
  caSign(dir, name, csr, id.cert, ['basicConstraints = critical,CA:TRUE', 'keyUsage = critical,keyCertSign,digitalSignature'], { start: '200101000000Z', end: '210101000000Z' }, ['-selfsign', '-keyfile', id.key]);
  return id;
}

/** Signs `file` with `openssl dgst -<alg> -sign key` and returns the signature as hex. */
export function sign(dir: string, key: string, file: string, alg = 'sha256'): string {
  const out = join(dir, 'signature.bin');
  openssl(dir, ['dgst', `-${alg}`, '-sign', key, '-out', out, file]);
  return readFileSync(out).toString('hex');
}

/** The text of an ovftool-style .cert: the signature line, then the PEM certificates. */
export function certText(alg: string, manifestName: string, hex: string, pemFiles: string[]): string {
  return `${alg.toUpperCase()}(${manifestName})= ${hex}\n${pemFiles.map((f) => readFileSync(f, 'utf8')).join('')}`;
}
