// Keys and certificates made on the fly with the openssl command line, for the .cert tests.

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A key and its certificate, as host paths of PEM files. */
export interface Identity {
  key: string;
  cert: string;
}

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
  const id = { key: join(dir, `${name}.key`), cert: join(dir, `${name}.pem`) };
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, ca ? 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n' : 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n');
  openssl(dir, ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', id.key, '-out', csr, '-subj', `/CN=${cn}`]);
  openssl(dir, ['x509', '-req', '-in', csr, '-CA', issuer.cert, '-CAkey', issuer.key, '-set_serial', String(Date.now()), '-days', '30', '-extfile', ext, '-out', id.cert]);
  return id;
}

/** A self-signed certificate valid only from 2020-01-01 to 2021-01-01, made with `openssl ca -selfsign`. */
export function expiredSelfSigned(dir: string, name: string): Identity {
  const id = { key: join(dir, `${name}.key`), cert: join(dir, `${name}.pem`) };
  const csr = join(dir, `${name}.csr`);
  const conf = join(dir, `${name}.cnf`);
  writeFileSync(join(dir, `${name}.index`), '');
  writeFileSync(join(dir, `${name}.serial`), '01\n');
  writeFileSync(conf, [
    '[ca]', 'default_ca = ca_default', '[ca_default]', `database = ${name}.index`, 'new_certs_dir = .', `serial = ${name}.serial`,
    'default_md = sha256', 'policy = any', 'unique_subject = no', 'x509_extensions = ext', '[any]', 'commonName = supplied',
    '[ext]', 'basicConstraints = critical,CA:TRUE', 'keyUsage = critical,keyCertSign,digitalSignature', '',
  ].join('\n'));
  openssl(dir, ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', id.key, '-out', csr, '-subj', '/CN=Expired Signer']);
  openssl(dir, ['ca', '-batch', '-config', conf, '-selfsign', '-keyfile', id.key, '-in', csr, '-out', id.cert, '-startdate', '200101000000Z', '-enddate', '210101000000Z', '-notext']);
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
